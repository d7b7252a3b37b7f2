/**
 * Bounds on what a restored filestore may hold: a tar or gzip bomb stops at the first entry past
 * one. Defaults: 8 GiB per file, 2 TiB in all, 10 million entries, a 1000:1 gzip ratio.
 */
export interface RestoreLimits {
  /** Largest single file, in bytes (declared in its tar header). */
  maxEntryBytes: number;
  /** Largest sum of file sizes, in bytes. */
  maxTotalBytes: number;
  /** Most tar entries (files and folders). */
  maxEntries: number;
  /**
   * Most bytes the gunzipped tar may hold per byte of `filestore.tar.gz` (beyond a 64 MiB
   * allowance). Deflate cannot exceed about 1032:1, so only a degenerate tarball (gigabytes of
   * zeros) reaches the default 1000.
   */
  maxCompressionRatio: number;
}

/** Defaults of {@link RestoreLimits}: far above any real Odoo filestore, far below what fills a disk by surprise. */
export const DEFAULT_RESTORE_LIMITS: Readonly<RestoreLimits> = Object.freeze({
  maxEntryBytes: 8 * 1024 ** 3,
  maxTotalBytes: 2 * 1024 ** 4,
  maxEntries: 10_000_000,
  maxCompressionRatio: 1000,
});

/** Allowance before {@link RestoreLimits.maxCompressionRatio} applies: small tarballs of empty files are fine. */
export const COMPRESSION_RATIO_ALLOWANCE = 64 * 1024 * 1024;
