// ssh2-sftp-client (and through it ssh2 with its native crypto addon) is imported on first use,
// so importing the package does not load it.
import { loadOnce } from '../../adapters/load-once.js';

/** Loads `ssh2-sftp-client` once per process; resolves to its client class. */
export const loadSftpClient = loadOnce(async () => (await import('ssh2-sftp-client')).default);
