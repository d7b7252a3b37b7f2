/**
 * The REST API and live events as one web-standard handler: `odoo-backup-sdk/http`.
 * `createBackupApi({ sdk, authenticate })` answers `Request`s with `Response`s; `toNodeHandler`
 * serves it on `node:http`, Express or Fastify. No runtime dependency. See docs/http.md.
 *
 * @packageDocumentation
 */
export { createBackupApi, IDEMPOTENCY_TTL_SECONDS } from './backup-api.js';
export type { BackupApiHandler, BackupApiOptions, RequestInfo } from './backup-api.js';
export { toNodeHandler } from './node-handler.js';
export type { NodeHandlerOptions } from './node-handler.js';
export { HTTP_STATUS_BY_CODE } from './http-status.js';
export { InProcessEventBus } from './in-process-event-bus.js';
export type { InProcessEventBusOptions } from './in-process-event-bus.js';
export { InProcessIdempotencyStore } from './in-process-idempotency-store.js';
export { openApiDocument } from './openapi-document.js';
export type { BusDelivery, EventBus, EventSubscribeOptions, EventSubscription } from '../../ports/event-bus.js';
export type { IdempotencyClaim, IdempotencyRecord, IdempotencyStore, StoredResponse } from '../../ports/idempotency-store.js';
