// ssh2 (with its native crypto addon) is imported on first use, so importing the package does not load it.
import { loadOnce } from '../adapters/load-once.js';

/** Loads `ssh2` once per process. */
export const loadSsh2 = loadOnce(() => import('ssh2'));
