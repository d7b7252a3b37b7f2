import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

/**
 * The first minor of each major whose psql both knows `\restrict` and no longer expands
 * backticks in the argument of `\unrestrict` (earlier ones ran `` \unrestrict `cmd` `` even while
 * restricted).
 */
const FIXED_MINOR: Readonly<Record<number, number>> = { 15: 19, 16: 15, 17: 11, 18: 6 };

/** True when `psql --version` (e.g. `psql (PostgreSQL) 17.11`) names a psql whose `\restrict` can be relied on. */
export function psqlHonoursRestrict(versionText: string): boolean {
  const match = /(\d+)\.(\d+)/.exec(versionText);
  if (!match) return false;
  const major = Number(match[1]);
  const minor = Number(match[2]);
  if (major >= 19) return true;
  const fixed = FIXED_MINOR[major];
  return fixed !== undefined && minor >= fixed;
}

/** `\restrict <random key>` and then the script: psql refuses every meta-command after it but `\unrestrict <that key>`. */
export function restrictedScript(script: Readable): Readable {
  const key = randomBytes(24).toString('hex');
  return Readable.from(
    (async function* () {
      yield Buffer.from(`\\restrict ${key}\n`);
      yield* script;
    })(),
    { objectMode: false },
  );
}
