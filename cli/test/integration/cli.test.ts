import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOdooFixture, folderDigests, tableDigests, type OdooFixture } from '../../../test/fixtures/odoo-fixture.js';
import { startPostgres, type PgServer } from '../../../test/servers/postgres.js';
import { startS3, type S3Server } from '../../../test/servers/s3.js';
import { freePort } from '../../../test/servers/free-port.js';

/**
 * The built CLI (cli/dist/odoo-backup.js), spawned as an operator runs it: one PostgreSQL, one
 * fixture database and one storage folder shared by every test, in order (later tests use the
 * backups earlier ones made). Every run is checked for escape codes (output is piped) and for the
 * secrets passed by variable (PGPASSWORD, the S3 secret key): neither may appear anywhere.
 */

const CLI = fileURLToPath(new URL('../../dist/odoo-backup.js', import.meta.url));
const ESC = '\u001b';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

let pg: PgServer;
let fixture: OdooFixture;
let work: string;
let storage: string;
const secrets: string[] = [];

function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: work,
    XDG_STATE_HOME: join(work, 'state'),
    PGPASSWORD: pg.password,
    ...extra,
  };
}

/** Spawns the CLI; `onStderr` sees stderr as it comes (to interrupt a run at the right moment). */
function cli(
  args: string[],
  options: { env?: Record<string, string>; onStderr?: (text: string, kill: (s: NodeJS.Signals) => void) => void } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: baseEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      options.onStderr?.(stderr, (signal) => child.kill(signal));
    });
    child.on('error', reject);
    child.on('close', (status) => {
      for (const text of [stdout, stderr]) {
        expect(text.includes(ESC), `escape code in piped output of ${args.join(' ')}`).toBe(false);
        for (const secret of secrets) expect(text.includes(secret), `a secret in the output of ${args.join(' ')}`).toBe(false);
      }
      resolve({ status, stdout, stderr });
    });
  });
}

const storageArgs = () => ['--storage-root', storage];
const pgArgs = () => ['--pg-host', pg.host, '--pg-port', String(pg.port), '--pg-user', pg.user, '--pg-bin-dir', pg.binDir];

/** Every file under the storage root with its SHA-256: what "changes nothing" is checked against. */
function storageSnapshot(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(storage, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files[relative(storage, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
  }
  return files;
}

const json = <T>(run: Run): T => JSON.parse(run.stdout) as T;

interface ListItem {
  id: string;
  environment_id: string;
  retention_type: string;
  is_verified: boolean;
  created_at: string;
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`node scripts/prepare.mjs\` (npm test and npm ci do it)`);
  pg = await startPostgres();
  secrets.push(pg.password);
  work = mkdtempSync(join(tmpdir(), 'obsdk-cli-'));
  storage = join(work, 'storage');
  // The local provider never creates its root: an operator's typo must not become a new folder.
  mkdirSync(storage);
  fixture = await createOdooFixture(pg, { dbName: 'cli_src', databaseMb: 1, filestoreMb: 0.5 });
});

afterAll(async () => {
  await fixture?.cleanup();
  await pg?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('odoo-backup CLI (built, spawned)', () => {
  let first: { id: string };
  let listed: ListItem[];

  it('--version prints the CLI and library versions; --help names each flag, its variable and default, with an example', async () => {
    const run = await cli(['--version']);
    expect(run.status).toBe(0);
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(run.stdout).toContain(version);
    expect(run.stdout).toContain('odoo-backup-sdk');
    const help = await cli(['backup', '--help']);
    expect(help.status).toBe(0);
    for (const text of [
      '--storage-root <dir>',
      '(env: ODOO_BACKUP_STORAGE_ROOT)',
      '(env: ODOO_BACKUP_PG_HOST)',
      'default: "manual"',
      'Example:',
    ])
      expect(help.stdout.replace(/\s+/g, ' ')).toContain(text);
  });

  it('backup --json: one BackupDetail document on stdout, progress lines on stderr', async () => {
    const run = await cli([
      'backup',
      '--db',
      fixture.dbName,
      ...pgArgs(),
      '--filestore',
      fixture.filestorePath,
      ...storageArgs(),
      '--json',
    ]);
    expect(run.status, run.stderr).toBe(0);
    const detail = json<{ id: string; status: string; is_verified: boolean; filestore_checksum: string | null; environment_id: string }>(
      run,
    );
    expect(detail).toMatchObject({ status: 'completed', is_verified: true, environment_id: 'cli_src' });
    expect(detail.filestore_checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(run.stderr).toMatch(/backup cli_src: (dumping|uploading|verifying)/);
    first = detail;
    const zip = `organizations/default/projects/default/environments/cli_src/${detail.id}.zip`;
    expect(Object.keys(storageSnapshot()).sort()).toEqual([zip, zip.replace(/\.zip$/, '.state.json'), 'odoo-backup-index.json'].sort());
  });

  it('list --json: the backup, as BackupListItem[]', async () => {
    const run = await cli(['list', ...storageArgs(), '--json']);
    expect(run.status, run.stderr).toBe(0);
    listed = json<ListItem[]>(run);
    expect(listed.map((b) => b.id)).toEqual([first.id]);
    expect(listed[0]).toMatchObject({ environment_id: 'cli_src', is_verified: true });
  });

  it('verify ID-PREFIX: reads the backup back whole (exit 0); an unknown prefix exits 7', async () => {
    const ok = await cli(['verify', first.id.slice(0, 8), ...storageArgs(), '--json']);
    expect(ok.status, ok.stderr).toBe(0);
    expect(json<{ ok: boolean; backup_id: string }>(ok)).toMatchObject({ ok: true, backup_id: first.id });
    const missing = await cli(['verify', 'ffffffff', ...storageArgs(), '--json']);
    expect(missing.status).toBe(7);
    expect(json<{ error: { code: string } }>(missing).error.code).toBe('E_NOT_FOUND');
  });

  it('restore --new-database: row counts and table hashes equal the source, and the filestore too; again exits 6', async () => {
    const args = [
      'restore',
      first.id.slice(0, 12),
      '--new-database',
      'cli_copy',
      ...pgArgs(),
      '--filestore',
      fixture.filestorePath,
      ...storageArgs(),
      '--json',
    ];
    const run = await cli(args);
    expect(run.status, run.stderr).toBe(0);
    expect(json<{ status: string; task_type: string }>(run)).toMatchObject({ status: 'completed', task_type: 'restore' });
    expect(await tableDigests(pg, 'cli_copy')).toEqual(await fixture.databaseDigest());
    expect(await folderDigests(join(fixture.filestoreRoot, 'cli_copy'))).toEqual(await fixture.filestoreDigest());
    const again = await cli(args);
    expect(again.status).toBe(6);
    expect(json<{ error: { code: string } }>(again).error.code).toBe('E_RESTORE_TARGET_EXISTS');
    await pg.dropDatabase('cli_copy');
    rmSync(join(fixture.filestoreRoot, 'cli_copy'), { recursive: true, force: true });
  });

  it('a deleted or corrupt index is rebuilt: list --json is the same', async () => {
    const index = join(storage, 'odoo-backup-index.json');
    const before = (await cli(['list', ...storageArgs(), '--json'])).stdout;
    rmSync(index);
    const rebuilt = await cli(['list', ...storageArgs(), '--json']);
    expect(rebuilt.stdout).toBe(before);
    writeFileSync(index, '{"format":"odoo-backup-index","version":1,"backups":[{"key":');
    const repaired = await cli(['list', ...storageArgs(), '--json']);
    expect(repaired.stdout).toBe(before);
    expect(JSON.parse(readFileSync(index, 'utf8')).backups).toHaveLength(1);
  });

  it('two concurrent backups: list --json equals a rebuild from the objects', async () => {
    // Daily retention 0: both expire at the next cleanup unless promoted (the prune test uses them).
    const args = [
      'backup',
      '--db',
      fixture.dbName,
      ...pgArgs(),
      '--no-filestore',
      '--retention-type',
      'daily',
      '--daily',
      '0',
      ...storageArgs(),
      '--json',
    ];
    const [a, b] = await Promise.all([cli(args), cli(args)]);
    expect([a.status, b.status], a.stderr + b.stderr).toEqual([0, 0]);
    const afterBoth = await cli(['list', ...storageArgs(), '--json']);
    const ids = json<ListItem[]>(afterBoth).map((x) => x.id);
    expect(ids.sort()).toEqual([first.id, json<{ id: string }>(a).id, json<{ id: string }>(b).id].sort());
    rmSync(join(storage, 'odoo-backup-index.json'));
    expect((await cli(['list', ...storageArgs(), '--json'])).stdout).toBe(afterBoth.stdout);
  });

  it('prune: the dry run changes nothing; --apply keeps exactly the plan keep and promote sets; promotion survives the index', async () => {
    interface Plan {
      keep: { backup_id: string }[];
      promote: { backup_id: string; to: string }[];
      expire: { backup_id: string }[];
    }
    const before = storageSnapshot();
    const dry = await cli(['prune', ...storageArgs(), '--json']);
    expect(dry.status, dry.stderr).toBe(0);
    const [plan] = json<Plan[]>(dry);
    expect(storageSnapshot()).toEqual(before);
    expect(plan!.expire.length + plan!.promote.length + plan!.keep.length).toBe(3);
    expect(plan!.expire.length).toBeGreaterThan(0);
    expect(plan!.promote.length).toBeGreaterThan(0);

    const applied = await cli(['prune', ...storageArgs(), '--apply', '--json']);
    expect(applied.status, applied.stderr).toBe(0);
    const { plans } = json<{ plans: Plan[] }>(applied);
    const kept = [...plans[0]!.keep, ...plans[0]!.promote].map((k) => k.backup_id).sort();
    const after = json<ListItem[]>(await cli(['list', ...storageArgs(), '--json']));
    expect(after.map((b) => b.id).sort()).toEqual(kept);
    for (const e of plans[0]!.expire) expect(Object.keys(storageSnapshot()).some((k) => k.includes(e.backup_id))).toBe(false);

    rmSync(join(storage, 'odoo-backup-index.json'));
    const rebuilt = json<ListItem[]>(await cli(['list', ...storageArgs(), '--json']));
    for (const p of plans[0]!.promote) expect(rebuilt.find((b) => b.id === p.backup_id)?.retention_type).toBe(p.to);
  });

  it('schedule "0 2 * * *" in Europe/Brussels across the DST change equals python3 zoneinfo', async () => {
    const run = await cli([
      'schedule',
      '0 2 * * *',
      '--timezone',
      'Europe/Brussels',
      '--count',
      '5',
      '--after',
      '2027-03-26T00:00:00Z',
      '--json',
    ]);
    expect(run.status, run.stderr).toBe(0);
    const python = `
import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo
tz = ZoneInfo('Europe/Brussels')
after = datetime(2027, 3, 26, tzinfo=timezone.utc)
day = after.astimezone(tz).date()
out = []
while len(out) < 5:
    # fold=0: a 02:00 that does not exist (the spring-forward gap) reads with the offset before it, i.e. 03:00 summer time.
    at = datetime(day.year, day.month, day.day, 2, 0, tzinfo=tz).astimezone(timezone.utc)
    if at > after:
        out.append(at.strftime('%Y-%m-%dT%H:%M:%S.000Z'))
    day += timedelta(days=1)
print(json.dumps(out))
`;
    const expected = JSON.parse(execFileSync('python3', ['-c', python], { encoding: 'utf8' })) as string[];
    expect(json<string[]>(run)).toEqual(expected);
    expect(expected).toContain('2027-03-28T01:00:00.000Z');
  });

  it('simulate --svg: python3 xml.etree reads it, one row per tier', async () => {
    const svg = join(work, 'retention.svg');
    const run = await cli(['simulate', '--days', '400', '--svg', svg, '--json']);
    expect(run.status, run.stderr).toBe(0);
    expect(json<{ days: number; lifetimes: unknown[] }>(run)).toMatchObject({ days: 400 });
    const python = `
import sys, xml.etree.ElementTree as ET
ns = {'s': 'http://www.w3.org/2000/svg'}
root = ET.parse(sys.argv[1]).getroot()
rows = [g.get('data-tier') for g in root.iter('{http://www.w3.org/2000/svg}g') if g.get('class') == 'tier']
bars = len([r for r in root.iter('{http://www.w3.org/2000/svg}rect') if r.get('class') == 'lifetime'])
print(','.join(rows), bars)
`;
    const [rows, bars] = execFileSync('python3', ['-c', python, svg], { encoding: 'utf8' }).trim().split(' ');
    expect(rows).toBe('daily,weekly,monthly,yearly');
    expect(Number(bars)).toBe(400);
  });

  it('storage test: a local folder passes; a folder that is a file exits 3; S3 from the config file with credentials by variable', async () => {
    const ok = await cli(['storage', 'test', ...storageArgs(), '--json']);
    expect(ok.status, ok.stderr).toBe(0);
    expect(json<{ ok: boolean }>(ok).ok).toBe(true);
    const file = join(work, 'not-a-folder');
    writeFileSync(file, 'x');
    const bad = await cli(['storage', 'test', '--storage-root', file, '--json']);
    expect(bad.status).toBe(3);

    let s3: S3Server | undefined;
    try {
      s3 = await startS3();
      const secret = `s3-secret-${createHash('sha256').update(work).digest('hex').slice(0, 16)}`;
      secrets.push(secret);
      const config = join(work, 's3.json');
      writeFileSync(
        config,
        JSON.stringify({
          storage: { provider: 's3', settings: { bucket: s3.bucket, endpoint: s3.endpoint, region: 'us-east-1', force_path_style: true } },
        }),
      );
      const run = await cli(['storage', 'test', '--config', config, '--json'], {
        env: { ODOO_BACKUP_STORAGE_CREDENTIALS: JSON.stringify({ access_key_id: s3.accessKeyId, secret_access_key: secret }) },
      });
      expect(run.status, run.stderr).toBe(0);
      expect(json<{ ok: boolean; steps: unknown[] }>(run)).toMatchObject({ ok: true });
    } finally {
      await s3?.stop();
    }
  });

  it('usage errors exit 2 (a secret in the config file), source failures 4, other failures 1', async () => {
    const config = join(work, 'secret.json');
    writeFileSync(
      config,
      JSON.stringify({ storage: { provider: 'local', settings: { root: storage } }, source: { kind: 'docker', password: 'x' } }),
    );
    const secretInFile = await cli(['list', '--config', config, '--json']);
    expect(secretInFile.status).toBe(2);
    expect(json<{ error: { code: string; details: { issues: { field: string }[] } } }>(secretInFile).error).toMatchObject({
      code: 'E_VALIDATION',
      details: { issues: [{ field: 'config.source.password' }] },
    });
    const unknownFlag = await cli(['list', '--no-such-flag', '--json']);
    expect(unknownFlag.status).toBe(2);
    expect(json<{ error: { code: string } }>(unknownFlag).error.code).toBe('E_VALIDATION');

    const noDatabase = await cli([
      'backup',
      '--db',
      'no_such_db',
      '--env',
      'ghost',
      ...pgArgs(),
      '--no-filestore',
      ...storageArgs(),
      '--json',
    ]);
    expect(noDatabase.status, noDatabase.stderr).toBe(4);
    expect(json<{ error: { code: string } }>(noDatabase).error.code).toMatch(/^E_SOURCE/);

    const unwritable = await cli(['simulate', '--days', '10', '--svg', join(work, 'no-such-folder', 'x.svg'), '--json']);
    expect(unwritable.status).toBe(1);
    expect(json<{ error: { code: string } }>(unwritable).error.code).toBe('E_UNEXPECTED');
  });

  it('verify of a damaged archive exits 5', async () => {
    const zip = readdirSync(join(storage, 'organizations/default/projects/default/environments/cli_src')).find((f) => f.endsWith('.zip'))!;
    const path = join(storage, 'organizations/default/projects/default/environments/cli_src', zip);
    const bytes = readFileSync(path);
    // A byte inside the first stored entry: the structure holds, its SHA-256 does not.
    bytes[200] = bytes[200]! ^ 0xff;
    writeFileSync(path, bytes);
    const run = await cli(['verify', zip.slice(0, 8), ...storageArgs(), '--json']);
    expect(run.status, run.stderr).toBe(5);
    expect(json<{ ok: boolean }>(run).ok).toBe(false);
  });

  it('Ctrl-C during a backup exits 130 and leaves nothing in storage', async () => {
    // A "PostgreSQL" that accepts and never answers: pg_dump waits until it is killed.
    const sockets = new Set<Socket>();
    const server: Server = createServer((s) => sockets.add(s));
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const before = Object.keys(storageSnapshot())
      .filter((k) => k.endsWith('.zip'))
      .sort();
    try {
      let sent = false;
      const run = await cli(
        [
          'backup',
          '--db',
          'hang',
          '--pg-host',
          '127.0.0.1',
          '--pg-port',
          String(port),
          '--pg-bin-dir',
          pg.binDir,
          '--no-filestore',
          ...storageArgs(),
        ],
        {
          onStderr: (text, kill) => {
            if (!sent && /backup \S+ started/.test(text)) {
              sent = true;
              kill('SIGINT');
            }
          },
        },
      );
      expect(run.status, run.stderr).toBe(130);
      expect(
        Object.keys(storageSnapshot())
          .filter((k) => k.endsWith('.zip'))
          .sort(),
      ).toEqual(before);
      expect(statSync(storage).isDirectory()).toBe(true);
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  });
});
