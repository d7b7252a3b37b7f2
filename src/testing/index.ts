/**
 * Test helpers for hosts: in-memory adapters of every port, a fake clock, and the contract
 * suites an adapter must pass. Import from `odoo-backup-sdk/testing`.
 *
 * @packageDocumentation
 */
export * from './in-memory-table.js';
export * from './in-memory-repositories.js';
export * from './fake-clock.js';
export * from './recording-adapters.js';
export * from './contracts/contract-check.js';
export * from './contracts/storage-provider-contract.js';
export * from './in-memory-job-queue.js';
export * from './fake-backup-source.js';
export * from './fake-restore-target.js';
export * from './static-environment-resolver.js';
export * from './contracts/sample-records.js';
export * from './contracts/assertions.js';
export * from './contracts/backup-repository-contract.js';
export * from './contracts/backup-policy-repository-contract.js';
export * from './contracts/task-repository-contract.js';
export * from './contracts/storage-config-repository-contract.js';
export * from './contracts/job-queue-contract.js';
export * from './contracts/rate-limiter-contract.js';
export * from './contracts/clock-contract.js';
