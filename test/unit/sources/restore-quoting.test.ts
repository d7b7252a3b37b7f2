import { describe, expect, it } from 'vitest';
import { buildRemoteCommand } from '../../../src/sources/remote-command.js';
import { checkAbsolutePath, checkInsideRoot, checkRestoreDatabaseName } from '../../../src/sources/restore-names.js';
import { quoteSqlIdentifier, quoteSqlLiteral } from '../../../src/sources/sql-quote.js';

describe('restore target quoting and names', () => {
  it('quotes identifiers and literals so any name reads back as itself', () => {
    expect(quoteSqlIdentifier('a "b" c')).toBe('"a ""b"" c"');
    expect(quoteSqlLiteral(`o'k \\ x`)).toBe(`E'o''k \\\\ x'`);
    expect(() => quoteSqlIdentifier('a\0b')).toThrow(/NUL/);
    expect(() => quoteSqlLiteral('a\0b')).toThrow(/NUL/);
  });

  it('refuses system, empty, over-long and NUL database names', () => {
    for (const name of ['postgres', 'template0', 'template1', '', 'a\0b', 'é'.repeat(32)])
      expect(() => checkRestoreDatabaseName(name)).toThrow(expect.objectContaining({ code: 'E_VALIDATION' }));
    expect(() => checkRestoreDatabaseName(`a "b" 'c' ${'x'.repeat(50)}`)).not.toThrow();
  });

  it('keeps folder operations inside the filestore root', () => {
    for (const path of ['relative', '/a/../b', '/a/./b', '/a//b', '/a/b/', '/'])
      expect(() => checkAbsolutePath(path)).toThrow(expect.objectContaining({ code: 'E_VALIDATION' }));
    expect(() => checkInsideRoot('/srv/fs/db', '/srv/fs')).not.toThrow();
    for (const path of ['/srv/fs', '/srv/fsx/db', '/srv/other', '/srv/fs/../etc'])
      expect(() => checkInsideRoot(path, '/srv/fs')).toThrow(expect.objectContaining({ code: 'E_VALIDATION' }));
    expect(() => checkInsideRoot('/srv/fs/db', null)).toThrow(expect.objectContaining({ code: 'E_VALIDATION' }));
  });

  it('an SSH command that reads its input execs the program after the secret lines, without the stdin watcher', () => {
    const { command, stdinPreamble } = buildRemoteCommand(['pg_restore', '--list'], { PGPASSWORD: 's3cret' }, { input: true });
    expect(command).toContain('exec "$@"');
    expect(command).not.toContain('kill -KILL 0');
    expect(command).not.toContain('s3cret');
    expect(stdinPreamble).toBe('s3cret\n');
    expect(buildRemoteCommand(['pg_dump']).command).toContain('kill -KILL 0');
  });
});
