import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const INSTALL = 'apt-get update && apt-get install -y postgresql openssh-server openssh-client redis-server unzip python3';

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
