import { describe, expect, it } from 'vitest';
import { SourceError } from '../../../src/index.js';
import { StderrTail } from '../../../src/sources/stderr-tail.js';
import { isToolSuccess, toolExitError } from '../../../src/sources/tool-errors.js';

const exit = (code: number | null, stderrTail: string, signal: string | null = null) => ({ code, signal, stderrTail });

describe('tool errors', () => {
  it('turns pg_dump connection errors into a message a person can act on, with details', () => {
    const stderr = 'pg_dump: error: connection to server at "127.0.0.1", port 5432 failed: FATAL:  database "shop" does not exist\n';
    const error = toolExitError('pg_dump', 'dump', exit(1, stderr));
    expect(error).toBeInstanceOf(SourceError);
    expect(error.code).toBe('E_SOURCE_PG_DUMP');
    expect(error.message).toBe('pg_dump failed: database "shop" does not exist (server at "127.0.0.1", port 5432)');
    expect(error.details).toEqual({ tool: 'pg_dump', phase: 'dump', exit_code: 1, signal: null, stderr_tail: stderr });
    expect(error.transient).toBe(false);
  });

  it('marks a refused connection as transient and names where the tool ran', () => {
    const error = toolExitError(
      'pg_dump',
      'dump',
      exit(
        1,
        'pg_dump: error: connection to server at "db" (10.0.0.5), port 5432 failed: Connection refused\n\tIs the server running on that host?',
      ),
      { where: 'on odoo@vm:22' },
    );
    expect(error.transient).toBe(true);
    expect(error.message).toBe('pg_dump failed (on odoo@vm:22): Connection refused (server at "db" (10.0.0.5), port 5432)');
  });

  it('never shows the password, even if a tool prints it', () => {
    const error = toolExitError('pg_dump', 'dump', exit(1, 'pg_dump: error: invalid option s3cr3t-pw\n'), { secrets: ['s3cr3t-pw'] });
    expect(JSON.stringify(error.toJSON())).not.toContain('s3cr3t-pw');
    expect(error.message).toBe('pg_dump failed: invalid option [redacted]');
  });

  it('summarizes tar, docker and shell failures', () => {
    expect(
      toolExitError(
        'tar',
        'filestore',
        exit(2, 'tar: mydb/ab/x: Cannot open: Permission denied\ntar: Exiting with failure status due to previous errors\n'),
      ).message,
    ).toBe('tar failed: mydb/ab/x: Cannot open: Permission denied');
    expect(toolExitError('tar', 'filestore', exit(1, 'Error response from daemon: No such container: e_odoo\n')).message).toBe(
      'tar failed: Error response from daemon: No such container: e_odoo',
    );
    expect(toolExitError('pg_dump', 'dump', exit(127, 'sh: 1: pg_dump: not found\n')).message).toBe(
      'pg_dump failed: sh: 1: pg_dump: not found',
    );
    expect(toolExitError('pg_dump', 'dump', exit(null, '', 'SIGKILL')).message).toBe('pg_dump failed: was killed by signal SIGKILL');
    expect(toolExitError('tar', 'filestore', exit(3, '')).details.exit_code).toBe(3);
  });

  it('accepts tar exit 1 only for files that changed or vanished while being read', () => {
    expect(isToolSuccess('tar', exit(0, ''))).toBe(true);
    expect(isToolSuccess('tar', exit(1, 'tar: db/ab/abc: file changed as we read it\n'))).toBe(true);
    expect(
      isToolSuccess(
        'tar',
        exit(1, 'tar: db/ab/abc: file removed before we read it\ntar: Exiting with failure status due to previous errors\n'),
      ),
    ).toBe(true);
    expect(isToolSuccess('tar', exit(1, ''))).toBe(false);
    expect(isToolSuccess('tar', exit(1, 'Error response from daemon: No such container: x\n'))).toBe(false);
    expect(isToolSuccess('tar', exit(2, 'tar: db/ab/abc: file changed as we read it\n'))).toBe(false);
    expect(isToolSuccess('pg_dump', exit(1, 'pg_dump: warning: something\n'))).toBe(false);
  });

  it('keeps only the tail of a long stderr', () => {
    const tail = new StderrTail(16);
    tail.push('a'.repeat(100));
    tail.push('0123456789');
    tail.push(Buffer.from('ABCDEFGHIJ'));
    expect(tail.toString()).toBe('456789ABCDEFGHIJ');
  });
});
