/**
 * Pure checks of the identifiers of a source config that end up in a path or an argv: a
 * container name sits right after `docker exec`, a database name becomes the filestore folder
 * under its root, folders become `tar -C` / `test -d` arguments. Each returns a problem (the end
 * of a validation message) or null. Internal: `checkSourceConfig` applies them to every source.
 */

/**
 * Docker's grammar for container names (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`), widened to one character
 * so a short container id prefix still works. A name that starts with `-` would be parsed by
 * docker as an option (`-u0`, `--privileged`): the first character is a letter or digit.
 */
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** The problem with `value` as a docker container name, or null. */
export function containerNameProblem(value: unknown): string | null {
  if (typeof value !== 'string' || value === '') return 'is required';
  if (!CONTAINER_NAME.test(value)) return 'must be a docker container name or id: a letter or digit, then letters, digits, "_", "." or "-"';
  return null;
}

/** The problem with `value` as a plain text argument (a user, a host, a program), or null. */
export function textArgumentProblem(value: unknown): string | null {
  if (typeof value !== 'string' || value === '') return 'cannot be empty';
  if (value.includes('\0')) return 'cannot contain a NUL byte';
  return null;
}

/** The segments of a `/`-separated path, without the empty ones a leading or trailing `/` makes. */
function segments(path: string): string[] {
  return path.split('/').filter((s, i, all) => !(s === '' && (i === 0 || i === all.length - 1)));
}

/**
 * The problem with `value` as a path below a root (the database name that becomes the docker
 * source's filestore folder), or null: it must stay inside the root, so it is relative (no
 * leading `/`), already normalised (no empty, `.` or `..` segment) and free of NUL bytes.
 */
export function relativePathProblem(value: unknown): string | null {
  const base = textArgumentProblem(value);
  if (base) return base;
  const path = value as string;
  if (path.startsWith('/')) return 'cannot be an absolute path (it names a folder inside the filestore root)';
  if (path.endsWith('/') || path.split('/').some((s) => s === '' || s === '.' || s === '..'))
    return 'cannot contain "..", "." or empty path segments (it names a folder inside the filestore root)';
  return null;
}

/**
 * The problem with `value` as an absolute folder, or null: it starts with `/`, has no `.` or
 * `..` segment (the folder is the one it reads as), no NUL byte, and is not `/` itself unless
 * `allowRoot`.
 */
export function absoluteFolderProblem(value: unknown, options: { allowRoot?: boolean } = {}): string | null {
  if (typeof value !== 'string' || !value.startsWith('/')) return 'must be an absolute folder path';
  if (value.includes('\0')) return 'cannot contain a NUL byte';
  const parts = segments(value);
  if (parts.some((s) => s === '.' || s === '..')) return 'cannot contain "." or ".." path segments';
  if (!options.allowRoot && parts.every((s) => s === '')) return 'cannot be the root folder';
  return null;
}

/**
 * True when `child` (a normalised absolute path) is `root` or inside it: the last guard before a
 * path built from a root and a name is handed to a command.
 */
export function isInside(root: string, child: string): boolean {
  const base = root.endsWith('/') ? root : `${root}/`;
  return child === root || child.startsWith(base);
}
