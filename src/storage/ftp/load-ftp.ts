// basic-ftp is imported on first use, so importing the package does not load it.
import { loadOnce } from '../../adapters/load-once.js';

/** Loads `basic-ftp` once per process. */
export const loadFtp = loadOnce(() => import('basic-ftp'));
