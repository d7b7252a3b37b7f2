// Barrel of src/services: each module adds its own export line here.
export {};
export * from './retention/quota.js';
export * from './backup/backup-responses.js';
export * from './backup/backup-job.js';
export * from './backup/backup-service.js';
export * from './backup/stale-recovery.js';
export * from './shared/authorize-call.js';
export * from './scheduling/policy-service.js';
export * from './scheduling/schedule-claims.js';
export * from './scheduling/scheduler.js';
export * from './retention/retention-service.js';
export * from './restore/restore-service.js';
export * from './restore/restore-job.js';
export * from './restore/restore-journal.js';
export * from './restore/restore-swap.js';
export * from './restore/restore-recovery.js';
export * from './restore/restore-compatibility.js';
export * from './storage-configs/storage-config-service.js';
