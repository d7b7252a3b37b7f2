/**
 * The job queue port on BullMQ (Redis): `odoo-backup-sdk/bullmq`. Needs `bullmq` (optional peer dependency).
 *
 * @packageDocumentation
 */
export * from './bullmq-job-queue.js';
