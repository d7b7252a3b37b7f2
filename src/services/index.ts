// Barrel of src/services: each module adds its own export line here.
export {};
export * from './quota.js';
