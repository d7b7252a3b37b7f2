// scripts/check-test-report.mjs, run on reports shaped as vitest 4's JSON reporter writes them
// (taken from a real run: a failure in nested describes, a beforeAll that threw, a file that did
// not load, and a passing file).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'check-test-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const test = (fullName: string, status: string) => ({ fullName, status, failureMessages: [] });
const file = (name: string, status: string, assertionResults: object[], message = '') => ({
  name: join(process.cwd(), name),
  status,
  message,
  assertionResults,
});

async function check(report: object): Promise<{ code: number; stdout: string; stderr: string }> {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(report));
  try {
    const { stdout, stderr } = await run(process.execPath, ['scripts/check-test-report.mjs', path]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('scripts/check-test-report.mjs', () => {
  it('counts failed tests as vitest does, and names files that failed outside their tests apart', async () => {
    const result = await check({
      // vitest counts every failed describe and file as a failed suite: 6 here, for 2 failed tests.
      numFailedTestSuites: 6,
      numFailedTests: 2,
      numPassedTests: 2,
      numPendingTests: 2,
      success: false,
      testResults: [
        file('test/a.test.ts', 'failed', [
          test('outer inner fails', 'failed'),
          test('outer inner passes', 'passed'),
          test('top fails', 'failed'),
        ]),
        file('test/b.test.ts', 'failed', [test('hooked x', 'skipped'), test('hooked y', 'skipped')]),
        file('test/c.test.ts', 'failed', [], "Cannot find module './missing-module.js' imported from test/c.test.ts"),
        file('test/d.test.ts', 'passed', [test('ok', 'passed')]),
      ],
    });
    expect(result.code).toBe(1);
    const lines = result.stdout.trim().split('\n');
    expect(lines.at(-1)).toBe('tests: 2 passed, 2 failed, 2 skipped');
    expect(lines).toContain('files: 2 failed outside their tests');
    expect(result.stderr).toContain('test/b.test.ts: a hook failed');
    expect(result.stderr).toContain("test/c.test.ts: Cannot find module './missing-module.js'");
    // The hook's skipped tests are the failed file's, not a skip someone wrote.
    expect(result.stderr).not.toContain('skipped tests count as failures');
  });

  it('passes a clean run and fails on a skipped test', async () => {
    const clean = await check({ success: true, testResults: [file('test/d.test.ts', 'passed', [test('ok', 'passed')])] });
    expect(clean).toMatchObject({ code: 0, stdout: 'tests: 1 passed, 0 failed, 0 skipped\n' });
    const skipped = await check({
      success: true,
      testResults: [file('test/d.test.ts', 'passed', [test('ok', 'passed'), test('later', 'todo')])],
    });
    expect(skipped.code).toBe(1);
    expect(skipped.stdout).toBe('tests: 1 passed, 0 failed, 1 skipped\n');
    expect(skipped.stderr).toContain('skipped tests count as failures:\n  test/d.test.ts: later');
  });
});
