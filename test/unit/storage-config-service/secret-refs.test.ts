// Credentials given as { ref }: accepted per field by the provider schemas, stored and returned
// as given, resolved (and checked) only when a provider is built, never echoed in an error.
import { describe, expect, it } from 'vitest';
import { redactStorageConfig, type SecretResolver, type StorageConfig, type StorageProviderFactory } from '../../../src/index.js';
import { resolveStorageCredentials } from '../../../src/storage/resolve-credentials.js';
import { ORG, S3_BODY, setup } from './setup.js';

const SENTINEL = 'sentinel-9f2c1e77d0';
const REF_BODY = { ...S3_BODY, credentials: { access_key_id: 'AKIAEXAMPLE', secret_access_key: { ref: 'vault://kv/s3#secret' } } };
const resolver = (answer: (ref: string) => unknown): SecretResolver => ({ resolve: (ref) => answer(ref) as string });

async function codeAndText(promise: Promise<unknown>) {
  const error = (await promise.then(
    () => null,
    (e: unknown) => e,
  )) as { code?: string; message: string; details?: unknown; transient?: boolean; cause?: unknown } | null;
  expect(error).not.toBeNull();
  return {
    code: error!.code,
    transient: error!.transient,
    text: JSON.stringify({ m: error!.message, d: error!.details, c: String(error!.cause) }),
  };
}

describe('storage credentials by reference', () => {
  it('a { ref } is accepted per field, stored as given and returned as given; plain values stay [redacted]', async () => {
    const { service, storageConfigs } = setup();
    const created = await service.create(ORG, REF_BODY);
    expect(created.credentials).toEqual({ access_key_id: '[redacted]', secret_access_key: { ref: 'vault://kv/s3#secret' } });
    expect((await storageConfigs.get(created.id))!.credentials).toEqual(REF_BODY.credentials);
    expect(redactStorageConfig((await storageConfigs.get(created.id))!).credentials).toEqual(created.credentials);
  });

  it('a malformed reference or a reference where the provider takes no credentials is refused, naming the field', async () => {
    const { service } = setup();
    await expect(
      service.create(ORG, { ...S3_BODY, credentials: { access_key_id: 'A', secret_access_key: { ref: '' } } }),
    ).rejects.toMatchObject({
      code: 'E_VALIDATION',
      details: { issues: [{ field: 'credentials.secret_access_key.ref' }] },
    });
    await expect(
      service.create(ORG, { ...S3_BODY, credentials: { access_key_id: 'A', secret_access_key: { ref: 'x', version: 2 } } }),
    ).rejects.toMatchObject({ code: 'E_VALIDATION' });
    await expect(
      service.create(ORG, { name: 'disk', provider: 'local', settings: { root: '/srv/backups' }, credentials: { password: { ref: 'x' } } }),
    ).rejects.toMatchObject({ code: 'E_VALIDATION' });
  });

  it('test() resolves the refs just before the provider is built, with the config and field as scope', async () => {
    const seen: StorageConfig[] = [];
    const factory: StorageProviderFactory = (config) => {
      seen.push(config);
      throw new Error('no connection in this test');
    };
    const asked: unknown[] = [];
    const { service, storageConfigs } = setup({
      storageProviders: factory,
      secrets: { resolve: (ref, scope) => (asked.push({ ref, scope }), SENTINEL) },
    });
    const created = await service.create(ORG, REF_BODY);
    expect(await service.test(ORG, created.id)).toMatchObject({ ok: false });
    expect(asked).toEqual([
      { ref: 'vault://kv/s3#secret', scope: { organization_id: ORG, storage_config_id: created.id, field: 'secret_access_key' } },
    ]);
    expect(seen[0]!.credentials).toEqual({ access_key_id: 'AKIAEXAMPLE', secret_access_key: SENTINEL });
    // The stored config still holds the reference only.
    expect(JSON.stringify(await storageConfigs.list(ORG))).not.toContain(SENTINEL);
  });

  it('E_SECRET_REF without a resolver, when it throws (transient, its message not repeated) and for an invalid answer; never the value', async () => {
    const { service, storageConfigs } = setup();
    const config = (await storageConfigs.get((await service.create(ORG, REF_BODY)).id))!;
    expect(await codeAndText(resolveStorageCredentials(config, undefined))).toMatchObject({ code: 'E_SECRET_REF', transient: false });
    const threw = await codeAndText(
      resolveStorageCredentials(
        config,
        resolver(() => {
          throw new Error(`vault said: ${SENTINEL} is sealed`);
        }),
      ),
    );
    expect(threw).toMatchObject({ code: 'E_SECRET_REF', transient: true });
    expect(threw.text).not.toContain(SENTINEL);
    for (const answer of ['', '   ', 42, null]) {
      const bad = await codeAndText(
        resolveStorageCredentials(
          config,
          resolver(() => answer),
        ),
      );
      expect(bad.code).toBe('E_SECRET_REF');
      expect(bad.text).toContain('secret_access_key');
    }
    // A config without references is used as is, without asking anyone.
    const plain: StorageConfig = { ...config, credentials: { access_key_id: 'A', secret_access_key: 'B' } };
    expect(await resolveStorageCredentials(plain, undefined)).toBe(plain);
  });
});
