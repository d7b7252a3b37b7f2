// Pure domain: types, validation, GFS math, schedule math, manifest, storage keys. No I/O.
export * from './enums.js';
export * from './entities.js';
export * from './environment-snapshot.js';
export * from './status-machine.js';
export * from './storage-keys.js';
export * from './zoned-time.js';
export * from './retention-classification.js';
export * from './validation.js';
export * from './source-config.js';
export * from './permissions.js';
export * from './manifest.js';
export * from './schedule.js';
export * from './keep-policy.js';
export * from './gfs-periods.js';
export * from './retention-plan.js';
export * from './retention-simulator.js';
