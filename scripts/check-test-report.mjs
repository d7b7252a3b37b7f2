// Runs after `vitest run` in `npm test`: fails when any test or suite failed, was skipped or left
// as todo (a skipped suite must never count as a pass), and prints the plain closing line
// "tests: N passed, N failed, N skipped" that CI reads.
//
// It counts what vitest's own summary counts: tests ("Tests 9 failed"). Vitest's JSON report also
// has numFailedTestSuites, which counts every failed describe block and file (a test failing
// inside two nested describes makes three failed "suites"): adding it made 9 failed tests read
// "14 failed". A test file that failed outside its tests (it did not load, or a hook threw, which
// leaves its tests skipped) is named apart, on its own line, before the closing line.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const path = process.argv[2] ?? '.tmp/vitest-report.json';
let report;
try {
  report = JSON.parse(readFileSync(path, 'utf8'));
} catch (error) {
  console.error(`check-test-report: cannot read ${path}: ${error.message}`);
  process.exit(1);
}
const files = report.testResults ?? [];
const name = (file) => relative(process.cwd(), file.name);
const tests = files.flatMap((file) => (file.assertionResults ?? []).map((t) => ({ file, t })));
const count = (...statuses) => tests.filter(({ t }) => statuses.includes(t.status)).length;
const passed = count('passed');
const failed = count('failed');
const skipped = count('pending', 'skipped', 'todo');
// Files vitest marked failed without a failed test in them: the failure is the file's own.
const failedFiles = files.filter((file) => file.status === 'failed' && !(file.assertionResults ?? []).some((t) => t.status === 'failed'));
const skippedNames = tests
  .filter(({ file, t }) => ['pending', 'skipped', 'todo'].includes(t.status) && !failedFiles.includes(file))
  .map(({ file, t }) => `${name(file)}: ${t.fullName}`);

if (failedFiles.length > 0) {
  console.error(
    `check-test-report: ${failedFiles.length} test file(s) failed outside their tests (did not load, or a hook threw):\n  ${failedFiles
      .map((file) => `${name(file)}: ${(file.message || 'a hook failed (see the vitest output above)').split('\n')[0]}`)
      .join('\n  ')}`,
  );
}
if (skippedNames.length > 0) console.error(`check-test-report: skipped tests count as failures:\n  ${skippedNames.join('\n  ')}`);
if (passed === 0) console.error('check-test-report: no test ran');
if (failedFiles.length > 0) console.log(`files: ${failedFiles.length} failed outside their tests`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
const ok = passed > 0 && failed === 0 && skipped === 0 && failedFiles.length === 0 && report.success !== false;
process.exit(ok ? 0 : 1);
