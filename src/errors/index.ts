export * from './backup-sdk-error.js';
export * from './errors.js';
