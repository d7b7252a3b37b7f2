// The AWS SDK costs ~35 MB and ~150 ms to load, so it is imported on first use: importing the
// package (or building a provider that never sends a request) does not pay for it.
import type * as ClientS3 from '@aws-sdk/client-s3';
import type * as Presigner from '@aws-sdk/s3-request-presigner';
import { loadOnce } from '../../adapters/load-once.js';

/** The two AWS SDK modules the S3 provider uses. */
export interface S3Sdk {
  readonly s3: typeof ClientS3;
  readonly presigner: typeof Presigner;
}

/** Loads `@aws-sdk/client-s3` and its presigner once per process. */
export const loadS3 = loadOnce<S3Sdk>(async () => {
  const [s3, presigner] = await Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/s3-request-presigner')]);
  return { s3, presigner };
});
