import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/index.js';
import { buildRemoteCommand } from '../../../src/sources/remote-command.js';
import { quoteShellArg, shellCommand } from '../../../src/sources/shell-quote.js';

describe('quoteShellArg', () => {
  it('leaves plain words bare and single-quotes everything else', () => {
    expect(quoteShellArg('pg_dump')).toBe('pg_dump');
    expect(quoteShellArg('/usr/lib/postgresql/15/bin/pg_dump')).toBe('/usr/lib/postgresql/15/bin/pg_dump');
    expect(quoteShellArg('--dbname=x')).toBe('--dbname=x');
    expect(quoteShellArg('')).toBe("''");
    expect(quoteShellArg('a b')).toBe("'a b'");
    expect(quoteShellArg('$(touch /tmp/x)')).toBe("'$(touch /tmp/x)'");
    expect(quoteShellArg('`id`;ls')).toBe("'`id`;ls'");
    expect(quoteShellArg('line1\nline2')).toBe("'line1\nline2'");
    expect(quoteShellArg('~root')).toBe("'~root'");
    expect(quoteShellArg('=cmd')).toBe("'=cmd'");
    expect(quoteShellArg('*')).toBe("'*'");
  });

  it("writes a single quote as '\\''", () => {
    expect(quoteShellArg("it's")).toBe(`'it'\\''s'`);
    expect(quoteShellArg("'")).toBe(`''\\'''`);
  });

  it('refuses NUL bytes and empty commands', () => {
    expect(() => quoteShellArg('a\0b')).toThrow(ValidationError);
    expect(() => shellCommand([])).toThrow(ValidationError);
    expect(shellCommand(['tar', '-C', '/my dir', '--', "it's"])).toBe(`tar -C '/my dir' -- 'it'\\''s'`);
  });
});

describe('buildRemoteCommand', () => {
  it('keeps secrets off the command line and sends them as stdin lines', () => {
    const { command, stdinPreamble } = buildRemoteCommand(['pg_dump', '--dbname=x'], { PGPASSWORD: "p@ss w'rd $(x)" });
    expect(command).not.toContain('p@ss');
    expect(command.startsWith("sh -c '")).toBe(true);
    expect(command).toContain('read -r PGPASSWORD');
    expect(command.endsWith(' obsdk-run pg_dump --dbname=x')).toBe(true);
    expect(stdinPreamble).toBe("p@ss w'rd $(x)\n");
  });

  it('sends nothing on stdin without env', () => {
    expect(buildRemoteCommand(['true']).stdinPreamble).toBe('');
  });

  it('refuses env names that are not identifiers and values that cannot be one line', () => {
    expect(() => buildRemoteCommand(['x'], { 'A;rm': 'v' })).toThrow(ValidationError);
    expect(() => buildRemoteCommand(['x'], { PGPASSWORD: 'a\nb' })).toThrow(ValidationError);
    expect(() => buildRemoteCommand([])).toThrow(ValidationError);
  });
});
