// Barrel of src/sources: each module adds its own export line here.
export * from './shell-quote.js';
export * from './stderr-tail.js';
export * from './local-command-runner.js';
export * from './ssh-command-runner.js';
export * from './remote-command.js';
export * from './tool-errors.js';
export * from './tool-stream.js';
export * from './pg-dump-command.js';
export * from './tar-command.js';
export { DEFAULT_FILESTORE_COMPRESSION_LEVEL, type GzipTool } from './gzip-tool.js';
export * from './find-pg-tool.js';
export * from './folder-probe.js';
export * from './command-backup-source.js';
export * from './local-source.js';
export * from './docker-source.js';
export * from './source-config-check.js';
export * from './create-backup-source.js';
export { createRestoreTarget, type CreateRestoreTargetOptions } from './create-restore-target.js';
