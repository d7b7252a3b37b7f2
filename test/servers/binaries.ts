import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const INSTALL = 'apt-get update && apt-get install -y postgresql openssh-server openssh-client redis-server unzip python3';

/** The newest PostgreSQL server binary folder (Debian's /usr/lib/postgresql/N/bin), or a clear error. */
export function findPgBinDir(): string {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (existsSync(join(root, v, 'bin', 'initdb'))) return join(root, v, 'bin');
  }
  const onPath = whichOrNull('initdb');
  if (onPath) return onPath.slice(0, -'/initdb'.length);
  throw new Error(`PostgreSQL server binaries (initdb, pg_ctl) not found. Install them: ${INSTALL}`);
}

function whichOrNull(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

/** The absolute path of a system binary, or an Error naming the install command. */
export function requireBinary(name: string): string {
  const found = whichOrNull(name) ?? (existsSync(`/usr/sbin/${name}`) ? `/usr/sbin/${name}` : null);
  if (!found) throw new Error(`${name} not found on PATH. Install it: ${INSTALL}`);
  return found;
}
