// StorageConfigService.test against a real folder on this machine: a good local config passes
// every step and leaves nothing behind; a wrong one (its root runs through a regular file, so no
// folder can be made there) fails with a reason. A merely missing folder is not wrong: the local
// provider creates it on first write.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StorageConfigService } from '../../../src/index.js';
import { FakeClock, InMemoryStorageConfigRepository } from '../../../src/testing/index.js';

const ORG = '11111111-1111-4111-8111-111111111111';
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'storage-config-test-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('StorageConfigService.test on local disk', () => {
  const service = new StorageConfigService({ storageConfigs: new InMemoryStorageConfigRepository(), clock: new FakeClock() });

  it('a config pointing at an existing folder writes, reads back and deletes a probe', async () => {
    const result = await service.test(ORG, { name: 'Disk', provider: 'local', settings: { root } });
    expect(result.ok).toBe(true);
    expect(result.steps.map((s) => [s.step, s.ok])).toEqual([
      ['write', true],
      ['read', true],
      ['delete', true],
    ]);
    // The probe and any temp file are gone, and no folder was made for them.
    expect(await readdir(root)).toEqual([]);
  });

  it('a saved config whose root cannot be a folder fails at the write step and says why', async () => {
    const file = join(root, 'a-file');
    await writeFile(file, 'not a folder');
    const saved = await service.create(ORG, { name: 'Wrong disk', provider: 'local', settings: { root: join(file, 'backups') } });
    const result = await service.test(ORG, saved.id);
    expect(result.ok).toBe(false);
    expect(result.steps[0]).toMatchObject({ step: 'write', ok: false });
    expect(result.message).toMatch(/^Storage write failed: /);
    // A root under a file is a root that does not exist (E_STORAGE_NOT_FOUND), never created.
    expect(result.steps[0]!.message).toMatch(/root folder .* does not exist/);
  });
});
