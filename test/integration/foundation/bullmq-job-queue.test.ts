// The job queue contract of odoo-backup-sdk/testing against odoo-backup-sdk/bullmq on a real redis-server.
import { afterAll, beforeAll } from 'vitest';
import { BullMqJobQueue } from '../../../src/integrations/bullmq/index.js';
import { runJobQueueContract } from '../../../src/testing/index.js';
import { startRedis, type RedisServer } from '../../servers/redis.js';

let redis: RedisServer;
let queues = 0;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

await runJobQueueContract(
  'bullmq on redis-server',
  () =>
    new BullMqJobQueue({ connection: { host: redis.host, port: redis.port, maxRetriesPerRequest: null }, prefix: `contract${++queues}` }),
  { backoffMs: [100, 200], delayMs: 300, dispose: (q) => (q as BullMqJobQueue).close() },
);
