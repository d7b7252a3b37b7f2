// Storage providers: one folder per driver, one registry line each.
export * from './safe-key.js';
export * from './redact.js';
export * from './connection-test.js';
export * from './memory/memory-provider.js';
export * from './local/local-provider.js';
export * from './registry.js';
