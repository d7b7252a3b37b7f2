import { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import type { ConnectionTestResult, ConnectionTestStep, StorageProvider } from '../ports/storage-provider.js';

/**
 * The name probe objects start with. A probe is written at the root itself, not in a folder of its
 * own: FTP and SFTP keep a folder once made, and a connection test must leave nothing behind.
 */
export const PROBE_NAME = '.odoo-backup-sdk-probe';

/**
 * The product's "test storage connection": write a small probe object, read it back, delete it,
 * reporting each step. Shared by every provider so they answer alike.
 */
export async function probeStorage(provider: Pick<StorageProvider, 'upload' | 'download' | 'delete'>): Promise<ConnectionTestResult> {
  const key = `${PROBE_NAME}-${randomUUID()}.txt`;
  const body = `odoo-backup-sdk connection test ${new Date().toISOString()}`;
  const steps: ConnectionTestStep[] = [];
  const step = async (name: ConnectionTestStep['step'], fn: () => Promise<void>): Promise<boolean> => {
    const started = Date.now();
    try {
      await fn();
      steps.push({ step: name, ok: true, duration_ms: Date.now() - started });
      return true;
    } catch (error) {
      steps.push({
        step: name,
        ok: false,
        duration_ms: Date.now() - started,
        message: error instanceof Error ? error.message : String(error),
      });
      return false;
    }
  };
  const wrote = await step('write', async () => {
    await provider.upload(key, Readable.from([Buffer.from(body)]), { contentType: 'text/plain' });
  });
  if (wrote) {
    await step('read', async () => {
      const chunks: Buffer[] = [];
      for await (const c of await provider.download(key)) chunks.push(Buffer.from(c as Buffer));
      if (Buffer.concat(chunks).toString() !== body) throw new Error('the probe object read back differs from what was written');
    });
    await step('delete', () => provider.delete(key));
  }
  const failed = steps.find((s) => !s.ok);
  return {
    ok: !failed,
    steps,
    message: failed
      ? `Storage ${failed.step} failed: ${failed.message}`
      : 'Storage is reachable: wrote, read back and deleted a probe object',
  };
}
