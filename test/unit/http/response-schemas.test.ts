import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import type {
  BackupCreatedResponse,
  BackupDetail,
  BackupDownloadUrls,
  BackupListItem,
  BackupPolicy,
  BackupSummary,
  BackupSdkError,
  IsoDateTime,
  ConnectionTestResult,
  Page,
  RedactedStorageConfig,
  Task,
} from '../../../src/index.js';
import type { BackupVerificationResponse, OrganizationUsageResponse } from '../../../src/integrations/http/backup-api-types.js';
import * as responses from '../../../src/integrations/http/response-schemas.js';
import type { ArchiveVerification } from '../../../src/pipeline/verify-archive.js';
import type { BackupManifest } from '../../../src/domain/manifest.js';
import type { EnvironmentSnapshot } from '../../../src/domain/environment-snapshot.js';

// The OpenAPI document's response schemas are zod schemas; these pin each one's output type to
// the type the service (or the route) returns, so a field added to or changed in one of them
// does not type-check until the schema, and with it the document, says the same. Checked by
// `npm run typecheck` (expectTypeOf is a no-op at run time); the runtime test below only makes
// sure each pinned schema is one the document publishes.

type Out<S extends z.ZodType> = z.output<S>;
/** The same type as one object: `RedactedStorageConfig` is an intersection (`Omit<StorageConfig, 'credentials'> & {...}`), which toEqualTypeOf compares member by member only once flattened. */
type Flat<T> = { [K in keyof T]: T[K] };

describe('response schemas', () => {
  it('have the output types of what the services and routes return', () => {
    expectTypeOf<Out<typeof responses.IsoDateTimeSchema>>().toEqualTypeOf<IsoDateTime>();
    expectTypeOf<Out<typeof responses.ErrorResponseSchema>>().toEqualTypeOf<ReturnType<BackupSdkError['toJSON']>>();
    expectTypeOf<Out<typeof responses.BackupCreatedResponseSchema>>().toEqualTypeOf<BackupCreatedResponse>();
    expectTypeOf<Out<typeof responses.BackupListItemSchema>>().toEqualTypeOf<BackupListItem>();
    expectTypeOf<Out<typeof responses.BackupPageSchema>>().toEqualTypeOf<Page<BackupListItem>>();
    expectTypeOf<Out<typeof responses.BackupDetailSchema>>().toEqualTypeOf<BackupDetail>();
    expectTypeOf<Out<typeof responses.BackupSummarySchema>>().toEqualTypeOf<BackupSummary>();
    expectTypeOf<Out<typeof responses.BackupDownloadUrlsSchema>>().toEqualTypeOf<BackupDownloadUrls>();
    expectTypeOf<Out<typeof responses.TaskSchema>>().toEqualTypeOf<Task>();
    expectTypeOf<Out<typeof responses.BackupPolicySchema>>().toEqualTypeOf<BackupPolicy>();
    expectTypeOf<Out<typeof responses.StorageConfigSchema>>().toEqualTypeOf<Flat<RedactedStorageConfig>>();
    expectTypeOf<Out<typeof responses.ConnectionTestResultSchema>>().toEqualTypeOf<ConnectionTestResult>();
    expectTypeOf<Out<typeof responses.EnvironmentSnapshotSchema>>().toEqualTypeOf<EnvironmentSnapshot>();
    expectTypeOf<Out<typeof responses.BackupManifestSchema>>().toEqualTypeOf<BackupManifest>();
    expectTypeOf<Out<typeof responses.ArchiveVerificationSchema>>().toEqualTypeOf<ArchiveVerification>();
    expectTypeOf<Out<typeof responses.BackupVerificationResponseSchema>>().toEqualTypeOf<BackupVerificationResponse>();
    expectTypeOf<Out<typeof responses.OrganizationUsageResponseSchema>>().toEqualTypeOf<OrganizationUsageResponse>();
  });

  it('are each published under its name', () => {
    const pinned = Object.keys(responses)
      .filter((name) => name.endsWith('Schema'))
      .map((name) => name.slice(0, -'Schema'.length));
    expect(Object.keys(responses.RESPONSE_SCHEMAS).sort()).toEqual(pinned.sort());
    for (const [name, schema] of Object.entries(responses.RESPONSE_SCHEMAS)) {
      expect(schema).toBe(responses[`${name}Schema` as keyof typeof responses]);
    }
  });
});
