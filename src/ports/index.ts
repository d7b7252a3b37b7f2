// Interfaces the host implements, or picks an adapter for.
export * from './repositories.js';
export * from './clock.js';
export * from './events.js';
export * from './notifier.js';
export * from './rate-limiter.js';
export * from './job-queue.js';
export * from './storage-provider.js';
export * from './command-runner.js';
export * from './environment-resolver.js';
export * from './authorizer.js';
export * from './backup-source.js';
export * from './quota.js';
export * from './restore-target.js';
export * from './logger.js';
export * from './key-provider.js';
export * from './event-bus.js';
export * from './idempotency-store.js';
