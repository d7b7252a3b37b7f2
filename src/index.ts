/**
 * odoo-backup-sdk: backup and restore for Odoo environments (PostgreSQL + filestore).
 *
 * @packageDocumentation
 */
export * from './errors/index.js';
export * from './domain/index.js';
export * from './ports/index.js';
export * from './storage/index.js';
export * from './sources/index.js';
export * from './ssh/index.js';
export * from './pipeline/index.js';
export * from './services/index.js';
export * from './sdk.js';
