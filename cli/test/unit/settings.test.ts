import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../src/options.js';
import { readConfigFile, storageSettings } from '../../src/settings.js';

const dir = mkdtempSync(join(tmpdir(), 'obsdk-cli-settings-'));
const file = (name: string, value: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
};

describe('settings', () => {
  it('a secret anywhere in the config file is a usage error naming it, never echoing it', () => {
    const path = file('secret.json', {
      storage: { provider: 's3', settings: { bucket: 'b' }, credentials: { secret_access_key: 'TOPSECRET' } },
    });
    try {
      readConfigFile(path);
      expect.unreachable();
    } catch (error) {
      const e = error as { code: string; message: string; details: unknown };
      expect(e.code).toBe('E_VALIDATION');
      expect(JSON.stringify(e.details)).toContain('storage.credentials');
      expect(`${e.message}${JSON.stringify(e.details)}`).not.toContain('TOPSECRET');
    }
  });

  it('flags, then variables, then the config file, then the default', () => {
    const config = file('settings.json', { org: 'from-file', project: 'file-project', env: 'file-env' });
    const parse = (argv: string[], env: Record<string, string>) => {
      const saved = { ...process.env };
      Object.assign(process.env, env);
      try {
        const cmd = new Command('x')
          .exitOverride()
          .addOption(new Option('--config <file>'))
          .addOption(new Option('--org <id>').env('T_ORG').default('default'))
          .addOption(new Option('--project <id>').env('T_PROJECT').default('default'))
          .addOption(new Option('--env <id>').env('T_ENV'))
          .addOption(new Option('--other <x>').default('kept'));
        cmd.parse(['node', 'x', '--config', config, ...argv]);
        return resolveOptions<Record<string, string>>(cmd).opts;
      } finally {
        process.env = saved;
      }
    };
    expect(parse(['--org', 'flag'], { T_ORG: 'variable', T_PROJECT: 'var-project' })).toMatchObject({
      org: 'flag',
      project: 'var-project',
      env: 'file-env',
      other: 'kept',
    });
  });

  it('storage settings are checked by the SDK schema; credentials come from the variable', () => {
    expect(storageSettings('/srv/b', {}, {})).toEqual({ provider: 'local', settings: { root: '/srv/b' }, credentials: null });
    const s3 = storageSettings(
      undefined,
      { storage: { provider: 's3', settings: { bucket: 'b' } } },
      {
        ODOO_BACKUP_STORAGE_CREDENTIALS: '{"access_key_id":"a","secret_access_key":"s"}',
      },
    );
    expect(s3).toMatchObject({ provider: 's3', credentials: { access_key_id: 'a' } });
    expect(() => storageSettings(undefined, { storage: { provider: 's3', settings: { bucket: 'b', buckett: 'x' } } }, {})).toThrow(
      expect.objectContaining({ code: 'E_VALIDATION' }),
    );
    expect(() => storageSettings(undefined, {}, {})).toThrow(expect.objectContaining({ code: 'E_STORAGE_CONFIG_MISSING' }));
  });
});
