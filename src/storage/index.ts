// Storage providers: one folder per driver, one registry line each.
export * from './safe-key.js';
export * from './redact.js';
export * from './connection-test.js';
export * from './memory/memory-provider.js';
export * from './local/local-provider.js';
export * from './registry.js';
export * from './retry.js';
export * from './network-errors.js';
export * from './settings.js';
export * from './s3/s3-presets.js';
export * from './s3/s3-errors.js';
export * from './s3/s3-provider.js';
export * from './connection-pool.js';
export * from './temp-name.js';
export * from './ftp/ftp-options.js';
export * from './ftp/ftp-errors.js';
export * from './ftp/ftp-provider.js';
