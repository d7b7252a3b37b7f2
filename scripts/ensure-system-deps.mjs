// Makes sure the system servers and tools the integration tests need are installed.
// As root on Debian/Ubuntu it installs the missing packages with apt-get; anywhere else it
// stops and prints the exact command to run. Used by `npm test` and `.ci/run`; `npm run demo`
// passes --demo, which asks only for what the demo runs: PostgreSQL's programs and tar (with
// DATABASE_URL set, the client programs only).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

function onPath(name) {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, name)));
}

function pgBinDir() {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(join(root, v, 'bin', 'initdb'))) return join(root, v, 'bin');
  return null;
}

// binary -> Debian package that provides it
const needs = [
  {
    ok: () => pgBinDir() !== null || (onPath('initdb') && onPath('pg_ctl')),
    what: 'PostgreSQL server (initdb, pg_ctl, postgres)',
    pkg: 'postgresql',
  },
  { ok: () => pgBinDir() !== null || onPath('pg_dump'), what: 'pg_dump / pg_restore', pkg: 'postgresql-client' },
  { ok: () => existsSync('/usr/sbin/sshd') || onPath('sshd'), what: 'OpenSSH server (sshd)', pkg: 'openssh-server' },
  { ok: () => onPath('ssh-keygen'), what: 'ssh-keygen', pkg: 'openssh-client' },
  { ok: () => onPath('redis-server'), what: 'Redis server', pkg: 'redis-server' },
  { ok: () => onPath('tar') && onPath('gzip'), what: 'tar and gzip', pkg: 'tar gzip' },
  // Parallel gzip for the filestore (the sources fall back to gzip without it; tests cover both).
  { ok: () => onPath('pigz'), what: 'pigz', pkg: 'pigz' },
  // ISA-L's igzip: the sources' first choice at filestore levels 1-3 (tests cover it and the fallbacks).
  { ok: () => onPath('igzip'), what: 'igzip (ISA-L)', pkg: 'isal' },
  { ok: () => onPath('openssl'), what: 'openssl (test TLS certificates)', pkg: 'openssl' },
  { ok: () => onPath('runuser'), what: 'runuser (runs PostgreSQL as a non-root user)', pkg: 'util-linux' },
  // Independent ZIP readers the archive tests check our ZIP64 output with.
  { ok: () => onPath('unzip'), what: 'unzip (Info-ZIP)', pkg: 'unzip' },
  { ok: () => onPath('python3'), what: 'python3 (its zipfile module)', pkg: 'python3' },
  // A second, non-Node FTP/FTPS server for the storage contract (ftp-srv shares Node's TLS stack with the client).
  { ok: () => existsSync('/usr/sbin/vsftpd') || onPath('vsftpd'), what: 'vsftpd (FTP/FTPS server)', pkg: 'vsftpd' },
  // The age reference tool: encrypted backups are checked to open with `age -d`, and age's own files with ours.
  { ok: () => onPath('age'), what: 'age (file encryption)', pkg: 'age' },
];

const forDemo = process.argv.includes('--demo');
const demoPackages = process.env.DATABASE_URL
  ? ['postgresql-client', 'tar gzip']
  : ['postgresql', 'postgresql-client', 'util-linux', 'tar gzip'];
const wanted = forDemo ? needs.filter((n) => demoPackages.includes(n.pkg)) : needs;

const missing = wanted.filter((n) => !n.ok());
if (missing.length === 0) {
  if (!forDemo)
    console.log('ensure-system-deps: PostgreSQL, OpenSSH, Redis, tar, pigz, igzip, openssl, unzip, python3, vsftpd and age are installed');
  process.exit(0);
}

const packages = [...new Set(missing.flatMap((m) => m.pkg.split(' ')))];
const command = `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${packages.join(' ')}`;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
const isDebianLike = /^(ID|ID_LIKE)=.*\b(debian|ubuntu)\b/m.test(osRelease);

console.log(`ensure-system-deps: missing ${missing.map((m) => m.what).join(', ')}`);
if (!isRoot || !isDebianLike || !onPath('apt-get')) {
  console.error(
    `ensure-system-deps: cannot install them here (${!isRoot ? 'not root' : 'not Debian/Ubuntu'}). Run:\n\n  sudo sh -c '${command}'\n`,
  );
  process.exit(1);
}
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
for (const args of [['update'], ['install', '-y', '--no-install-recommends', ...packages]]) {
  const r = spawnSync('apt-get', args, { stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error(`ensure-system-deps: apt-get ${args[0]} failed (exit ${r.status}). Run by hand:\n\n  ${command}\n`);
    process.exit(1);
  }
}
// Debian's postgresql package starts a cluster on 5432; the tests start their own on free ports.
try {
  execFileSync(
    'sh',
    [
      '-c',
      'command -v pg_ctlcluster >/dev/null && pg_lsclusters -h 2>/dev/null | while read v c rest; do pg_ctlcluster "$v" "$c" stop || true; done',
    ],
    { stdio: 'ignore' },
  );
} catch {
  /* nothing to stop */
}
const still = wanted.filter((n) => !n.ok());
if (still.length > 0) {
  console.error(`ensure-system-deps: still missing after install: ${still.map((m) => m.what).join(', ')}`);
  process.exit(1);
}
console.log('ensure-system-deps: installed ' + packages.join(' '));
