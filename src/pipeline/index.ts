// Barrel of src/pipeline: each module adds its own export line here.
export * from './measuring-stream.js';
export * from './archive-writer.js';
export * from './progress-reporter.js';
export * from './dump-lister.js';
export * from './storage-range-reader.js';
export * from './verify-archive.js';
export * from './backup-runner.js';
export * from './pg-dump-header.js';
export { DEFAULT_RESTORE_LIMITS, type RestoreLimits } from './restore-limits.js';
export * from './restore-runner.js';
