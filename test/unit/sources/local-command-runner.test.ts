// A command's output waits for its reader, however late the reader comes: Node drops what a
// child's stdout holds when the child exits unread, which gave completed backups with an empty
// dump.sql when a small pg_dump finished before the archive writer read it.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalCommandRunner } from '../../../src/sources/local-command-runner.js';

const dir = mkdtempSync(join(tmpdir(), 'obsdk-runner-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Resolves once `done()` holds (checked every 10 ms, for at most 10 s). */
async function until(done: () => boolean): Promise<void> {
  for (let waited = 0; !done(); waited += 10) {
    if (waited > 10_000) throw new Error('gave up waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('LocalCommandRunner', () => {
  it("keeps every byte of a command's output for a reader that comes only after the command exited", async () => {
    const pidFile = join(dir, 'pid');
    // Less than a pipe buffer, as a small pg_dump's output is: the command exits without waiting for a reader.
    const output = 'PGDMP'.repeat(4_000);
    const command = await new LocalCommandRunner().start({
      argv: ['sh', '-c', 'printf "%s" "$1"; echo $$ > "$2"', 'sh', output, pidFile],
    });
    // The process is gone (reaped by Node, whose exit handling then ran) before anyone reads.
    await until(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n'));
    const pid = readFileSync(pidFile, 'utf8').trim();
    await until(() => !existsSync(`/proc/${pid}`));
    let read = '';
    for await (const chunk of command.stdout) read += String(chunk);
    expect(read.length).toBe(output.length);
    expect(read === output).toBe(true);
    expect((await command.wait()).code).toBe(0);
  });
});
