import { describe, expect, it } from 'vitest';
import { defaultDockerSource, ValidationError } from '../../../src/index.js';
import { dockerDumpArgv, dockerFilestorePath, dockerTarArgv } from '../../../src/sources/docker-source.js';
import { pgDumpArgs, quoteConninfoValue } from '../../../src/sources/pg-dump-command.js';
import { splitFolder, tarArgs } from '../../../src/sources/tar-command.js';

const nasty = `it's "odoo"; $(touch /tmp/x) \`id\`\nnext`;

describe('pg_dump arguments', () => {
  it('passes host, port, user and the database as a quoted conninfo, never a password', () => {
    expect(pgDumpArgs({ database: 'prod', host: 'db.internal', port: 5433, user: 'odoo', compressionLevel: 6 })).toEqual([
      '-Fc',
      '-Z6',
      '--host=db.internal',
      '--port=5433',
      '--username=odoo',
      '--no-password',
      "--dbname=dbname='prod'",
    ]);
  });

  it('leaves -Z out when no level is given', () => {
    expect(pgDumpArgs({ database: 'a' })).toEqual(['-Fc', '--no-password', "--dbname=dbname='a'"]);
  });

  it('escapes quotes and backslashes in the database name for libpq', () => {
    expect(quoteConninfoValue(`a'b\\c`)).toBe(`'a\\'b\\\\c'`);
    expect(pgDumpArgs({ database: nasty }).at(-1)).toBe(`--dbname=dbname='it\\'s "odoo"; $(touch /tmp/x) \`id\`\nnext'`);
    // A name that looks like options or a connection string stays one quoted value.
    expect(pgDumpArgs({ database: '-h evil host=x' }).at(-1)).toBe(`--dbname=dbname='-h evil host=x'`);
  });

  it('refuses compression levels outside 0-9', () => {
    for (const level of [-1, 10, 1.5, Number.NaN])
      expect(() => pgDumpArgs({ database: 'a', compressionLevel: level })).toThrow(ValidationError);
    expect(pgDumpArgs({ database: 'a', compressionLevel: 0 })).toContain('-Z0');
    expect(pgDumpArgs({ database: 'a', compressionLevel: 9 })).toContain('-Z9');
  });
});

describe('tar arguments', () => {
  it('archives the folder by name from its parent, with -- before the name', () => {
    const { parent, name } = splitFolder('/var/lib/odoo/filestore/mydb/');
    expect([parent, name]).toEqual(['/var/lib/odoo/filestore', 'mydb']);
    expect(tarArgs(parent, name)).toEqual(['-czf', '-', '-C', '/var/lib/odoo/filestore', '--', 'mydb']);
    expect(splitFolder('/srv//fs/-rf')).toEqual({ parent: '/srv/fs', name: '-rf' });
  });

  it('gzips with pigz at the chosen level when the host has it, gzip -N otherwise, plain -z for gzip at its default 6', () => {
    const pigz = { tool: 'pigz', version: 'pigz 2.6' } as const;
    expect(tarArgs('/fs', 'db', { gzip: pigz, level: 1 })).toEqual(['-I', 'pigz -1', '-cf', '-', '-C', '/fs', '--', 'db']);
    expect(tarArgs('/fs', 'db', { gzip: { tool: 'gzip' }, level: 3 })).toEqual(['-I', 'gzip -3', '-cf', '-', '-C', '/fs', '--', 'db']);
    expect(tarArgs('/fs', 'db', { gzip: { tool: 'gzip' }, level: 6 })).toEqual(['-czf', '-', '-C', '/fs', '--', 'db']);
    expect(tarArgs('/fs', 'db', { gzip: pigz, level: 6 })).toEqual(['-I', 'pigz -6', '-cf', '-', '-C', '/fs', '--', 'db']);
  });

  it('writes a plain tar for the in-process compressor (zlib-adaptive), whatever the level', () => {
    const adaptive = { tool: 'zlib-adaptive', version: 'node v20, zlib 1.3' } as const;
    expect(tarArgs('/fs', 'db', { gzip: adaptive, level: 1 })).toEqual(['-cf', '-', '-C', '/fs', '--', 'db']);
    expect(tarArgs('/fs', 'db', { gzip: adaptive, level: 9 })).toEqual(['-cf', '-', '-C', '/fs', '--', 'db']);
    expect(() => tarArgs('/fs', 'db', { gzip: adaptive, level: 0 })).toThrow(ValidationError);
  });

  it('gzips with igzip at levels 1-3 and refuses it above (ISA-L has no level 4)', () => {
    const igzip = { tool: 'igzip', version: 'igzip command line interface 2.30.0' } as const;
    expect(tarArgs('/fs', 'db', { gzip: igzip, level: 1 })).toEqual(['-I', 'igzip -1', '-cf', '-', '-C', '/fs', '--', 'db']);
    expect(tarArgs('/fs', 'db', { gzip: igzip, level: 3 })).toEqual(['-I', 'igzip -3', '-cf', '-', '-C', '/fs', '--', 'db']);
    expect(() => tarArgs('/fs', 'db', { gzip: igzip, level: 4 })).toThrow(ValidationError);
  });

  it('refuses a filestore level outside 1-9 (it goes into the -I string)', () => {
    for (const level of [0, 10, 1.5, Number.NaN, '1; rm -rf /' as unknown as number])
      expect(() => tarArgs('/fs', 'db', { gzip: { tool: 'gzip' }, level })).toThrow(ValidationError);
  });

  it('refuses relative paths and the root folder', () => {
    expect(() => splitFolder('filestore/db')).toThrow(ValidationError);
    expect(() => splitFolder('/')).toThrow(ValidationError);
  });
});

describe('docker commands', () => {
  const config = defaultDockerSource('env42', nasty);

  it('uses the default settings for an environment', () => {
    expect(config).toMatchObject({
      kind: 'docker',
      db_container: 'env42_db',
      odoo_container: 'env42_odoo',
      db_user: 'odoo',
      filestore_root: '/var/lib/odoo/filestore',
    });
  });

  it('runs pg_dump in the db container as the odoo user', () => {
    expect(dockerDumpArgv(config, 9, false)).toEqual([
      'docker',
      'exec',
      '--',
      'env42_db',
      'pg_dump',
      '-Fc',
      '-Z9',
      '--username=odoo',
      '--no-password',
      `--dbname=dbname='it\\'s "odoo"; $(touch /tmp/x) \`id\`\nnext'`,
    ]);
  });

  it('passes a password by name only (-e PGPASSWORD): docker copies the value from the client env', () => {
    const argv = dockerDumpArgv({ ...config, password: 'hunter2', database: 'prod' }, undefined, true);
    expect(argv.slice(0, 6)).toEqual(['docker', 'exec', '-e', 'PGPASSWORD', '--', 'env42_db']);
    expect(argv.join(' ')).not.toContain('hunter2');
  });

  it('tars <filestore_root>/<db> in the odoo container, with custom binary, user and paths', () => {
    expect(dockerTarArgv(config)).toEqual([
      'docker',
      'exec',
      '--',
      'env42_odoo',
      'tar',
      '-czf',
      '-',
      '-C',
      '/var/lib/odoo/filestore',
      '--',
      nasty,
    ]);
    const custom = defaultDockerSource('e', 'db1', {
      docker_bin: '/opt/docker',
      db_user: 'postgres',
      filestore_root: '/data/fs',
      odoo_container: 'web',
      db_container: 'pg',
    });
    expect(dockerTarArgv(custom)).toEqual(['/opt/docker', 'exec', '--', 'web', 'tar', '-czf', '-', '-C', '/data/fs', '--', 'db1']);
    expect(dockerTarArgv(custom, { gzip: { tool: 'pigz', version: 'pigz 2.8' }, level: 1 })).toEqual([
      '/opt/docker',
      'exec',
      '--',
      'web',
      'tar',
      '-I',
      'pigz -1',
      '-cf',
      '-',
      '-C',
      '/data/fs',
      '--',
      'db1',
    ]);
    expect(dockerDumpArgv(custom, 1, false)).toEqual([
      '/opt/docker',
      'exec',
      '--',
      'pg',
      'pg_dump',
      '-Fc',
      '-Z1',
      '--username=postgres',
      '--no-password',
      "--dbname=dbname='db1'",
    ]);
    expect(dockerFilestorePath(custom)).toBe('/data/fs/db1');
  });
});
