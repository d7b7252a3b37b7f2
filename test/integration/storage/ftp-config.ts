// The storage config of the FTP provider for a test server (ftp-srv or vsftpd).
import { createStorageProvider, type StorageConfig, type StorageProvider } from '../../../src/index.js';
import type { FtpServer } from '../../servers/ftp.js';

export const config = (server: FtpServer, settings: Record<string, unknown> = {}, credentials?: Record<string, string>): StorageConfig => ({
  id: '00000000-0000-4000-8000-0000000000f1',
  organization_id: 'org',
  name: 'ftp',
  provider: 'ftp',
  is_default: true,
  settings: {
    host: server.host,
    port: server.port,
    root: server.root,
    max_connections: 4,
    retries: 2,
    retry_min_delay_ms: 20,
    ...(server.caPem ? { secure: true, ca: server.caPem } : {}),
    ...settings,
  },
  credentials: credentials ?? { username: server.username, password: server.password },
  storage_class: null,
  total_size_bytes: 0,
  object_count: 0,
  last_used_at: null,
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
});
export const provider = (server: FtpServer, settings?: Record<string, unknown>, credentials?: Record<string, string>): StorageProvider =>
  createStorageProvider(config(server, settings, credentials));
