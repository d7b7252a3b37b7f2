// Adversarial source configs: option injection into `docker exec`, database names that would
// lead the filestore folder out of its root, and property-based runs of each pure validator.
import fc from 'fast-check';
import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBackupSource, ValidationError, type SourceConfig } from '../../../src/index.js';
import { dockerDumpArgv, dockerFilestorePath, dockerTarArgv } from '../../../src/sources/docker-source.js';
import {
  absoluteFolderProblem,
  containerNameProblem,
  relativePathProblem,
  textArgumentProblem,
} from '../../../src/sources/source-identifiers.js';

const RUNS = 1000;
const HOST_KEY = 'SHA256:' + 'A'.repeat(43);

function refusedFields(config: unknown): string[] {
  try {
    createBackupSource(config as SourceConfig);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues.map((i) => i.field);
  }
  return [];
}

const docker = (overrides: Record<string, unknown>) => ({
  kind: 'docker',
  db_container: 'env_db',
  odoo_container: 'env_odoo',
  database: 'prod',
  ...overrides,
});

/** Strings built from the characters that matter to paths and option parsers. */
const hostileText = fc.string({ unit: fc.constantFrom('-', '.', '/', '\0', ' ', '=', 'a', 'Z', '0', '_', '\n', 'é', '\\'), maxLength: 12 });

describe('docker container names', () => {
  it.each(['-u0', '--privileged', '-w/', '-e', '--', '-', '-it', ' env_db', 'env db', '', 'env/db', 'env_db\0', '.hidden', '_x'])(
    'refuses %j before docker runs',
    (name) => {
      expect(refusedFields(docker({ db_container: name }))).toEqual(['db_container']);
      expect(refusedFields(docker({ odoo_container: name }))).toEqual(['odoo_container']);
      expect(
        refusedFields({
          kind: 'ssh',
          ssh: { host: 'vm', username: 'u', password: 'p', host_key: HOST_KEY },
          remote: docker({ odoo_container: name }),
        }),
      ).toEqual(['remote.odoo_container']);
    },
  );

  it("accepts docker's grammar, ids included", () => {
    for (const name of ['env42_db', 'odoo-17.0', 'a', 'a1', '4f6c1b2a9d0e', 'A.b_c-d'])
      expect(refusedFields(docker({ db_container: name, odoo_container: name }))).toEqual([]);
  });

  it('ends docker options with -- before the container in every command', () => {
    const config = { ...docker({}), kind: 'docker' as const, db_container: '-u0', odoo_container: '--privileged' };
    const dump = dockerDumpArgv(config, 1, true);
    expect(dump.slice(0, 6)).toEqual(['docker', 'exec', '-e', 'PGPASSWORD', '--', '-u0']);
    expect(dockerTarArgv(config).slice(0, 4)).toEqual(['docker', 'exec', '--', '--privileged']);
  });

  it(`property (${RUNS} runs): an accepted name never starts with "-" and holds only docker's characters`, () => {
    fc.assert(
      fc.property(fc.oneof(hostileText, fc.string()), (name) => {
        const ok = containerNameProblem(name) === null;
        expect(ok).toBe(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name));
        if (ok) expect(name.startsWith('-')).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('database names under the filestore root', () => {
  it.each(['../../../../etc', '/etc', '..', '.', 'a/../../b', 'db/', 'a//b', './db', 'db\0x', ''])(
    'docker source refuses %j',
    (database) => {
      expect(refusedFields(docker({ database }))).toEqual(['database']);
      // The path builder refuses it too, should a caller skip createBackupSource.
      expect(() => dockerFilestorePath({ ...docker({}), kind: 'docker', database } as never)).toThrow(ValidationError);
    },
  );

  it('keeps hostile-but-harmless names (quotes, $(), newlines) as one folder inside the root', () => {
    const database = `o'k "x"; $(id)\`id\`\nnext`;
    expect(refusedFields(docker({ database }))).toEqual([]);
    expect(dockerFilestorePath({ ...docker({}), kind: 'docker', database } as never)).toBe(`/var/lib/odoo/filestore/${database}`);
  });

  it(`property (${RUNS} runs): every accepted name joined to the root stays strictly inside it`, () => {
    fc.assert(
      fc.property(
        fc.oneof(hostileText, fc.string({ maxLength: 30 })),
        fc.constantFrom('/var/lib/odoo/filestore', '/data/fs/', '/x'),
        (name, root) => {
          if (relativePathProblem(name) !== null) {
            expect(() => dockerFilestorePath({ ...docker({}), kind: 'docker', database: name, filestore_root: root } as never)).toThrow(
              ValidationError,
            );
            return;
          }
          const path = dockerFilestorePath({ ...docker({}), kind: 'docker', database: name, filestore_root: root } as never);
          const base = posix.normalize(root).replace(/\/$/, '');
          expect(path.startsWith(`${base}/`)).toBe(true);
          expect(posix.normalize(path)).toBe(path);
          expect(path.includes('\0')).toBe(false);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('folders and arguments of every source', () => {
  it('refuses ".." segments, relative folders and NUL bytes in local, docker and ssh sources', () => {
    expect(
      refusedFields({ kind: 'local', connection: { database: 'db' }, filestore_path: '/var/lib/../../etc', pg_bin_dir: '/usr/../tmp' }),
    ).toEqual(['filestore_path', 'pg_bin_dir']);
    expect(refusedFields({ kind: 'local', connection: { database: 'db', host: 'h\0', user: '' }, filestore_path: '/' })).toEqual([
      'connection.host',
      'connection.user',
      'filestore_path',
    ]);
    expect(refusedFields(docker({ filestore_root: '/var/lib/odoo/../..', db_user: 'u\0', docker_bin: '' }))).toEqual([
      'filestore_root',
      'db_user',
      'docker_bin',
    ]);
    expect(
      refusedFields({
        kind: 'ssh',
        ssh: { host: 'vm', username: 'u', password: 'p', host_key: HOST_KEY },
        remote: { kind: 'local', connection: { database: 'db' }, filestore_path: '/srv/./fs' },
      }),
    ).toEqual(['remote.filestore_path']);
  });

  it(`property (${RUNS} runs): an accepted absolute folder is absolute, NUL-free and has no "." or ".." segment`, () => {
    fc.assert(
      fc.property(
        fc.oneof(
          hostileText.map((s) => `/${s}`),
          hostileText,
          fc.string(),
        ),
        (path) => {
          if (absoluteFolderProblem(path) !== null) return;
          expect(path.startsWith('/')).toBe(true);
          expect(path.includes('\0')).toBe(false);
          expect(path.split('/').some((s) => s === '.' || s === '..')).toBe(false);
          expect(posix.normalize(path).replace(/\/+$/, '')).not.toBe('');
        },
      ),
      { numRuns: RUNS },
    );
  });

  it(`property (${RUNS} runs): a generated docker config is either refused with a typed error or yields safe argv`, () => {
    const field = fc.oneof(hostileText, fc.constantFrom('env_db', 'prod', '/var/lib/odoo/filestore', '-u0', '../..'));
    fc.assert(
      fc.property(field, field, field, fc.option(field, { nil: undefined }), (dbContainer, odooContainer, database, root) => {
        const config = { kind: 'docker', db_container: dbContainer, odoo_container: odooContainer, database, filestore_root: root };
        let source;
        try {
          source = createBackupSource(config as SourceConfig);
        } catch (error) {
          expect(error).toBeInstanceOf(ValidationError);
          return;
        }
        expect(source.kind).toBe('docker');
        const tar = dockerTarArgv(config as never);
        expect(tar[2]).toBe('--');
        expect(tar[3]!.startsWith('-')).toBe(false);
        const folder = dockerFilestorePath(config as never);
        expect(folder.split('/').includes('..')).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it(`property (${RUNS} runs): a plain argument is accepted exactly when it is a non-empty string without NUL`, () => {
    fc.assert(
      fc.property(fc.oneof(hostileText, fc.string(), fc.constantFrom(undefined, null, 0, {}, [])), (value) => {
        const ok = textArgumentProblem(value) === null;
        expect(ok).toBe(typeof value === 'string' && value !== '' && !value.includes('\0'));
      }),
      { numRuns: RUNS },
    );
  });
});
