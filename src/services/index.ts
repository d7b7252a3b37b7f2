// Barrel of src/services: each module adds its own export line here.
export {};
export * from './quota.js';
export * from './backup-responses.js';
export * from './backup-job.js';
export * from './backup-service.js';
export * from './stale-recovery.js';
export * from './authorize-call.js';
export * from './policy-service.js';
export * from './schedule-claims.js';
export * from './scheduler.js';
export * from './retention-service.js';
export * from './restore-service.js';
export * from './restore-job.js';
export * from './restore-journal.js';
export * from './restore-swap.js';
export * from './restore-recovery.js';
export * from './restore-compatibility.js';
export * from './storage-config-service.js';
