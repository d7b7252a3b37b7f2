import assert from 'node:assert/strict';
import { isBackupSdkError } from '../../errors/backup-sdk-error.js';
import type { ErrorCode } from '../../errors/error-codes.js';

/** Asserts that `fn` rejects with a `BackupSdkError` whose `code` is `code` (e.g. `E_CONFLICT`). */
export async function rejectsWithCode(fn: () => Promise<unknown>, code: ErrorCode, message?: string): Promise<void> {
  await assert.rejects(fn, (error: unknown) => {
    if (isBackupSdkError(error, code)) return true;
    const got = isBackupSdkError(error) ? error.code : error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    assert.fail(`${message ?? 'expected a rejection'} with code ${code}, got ${got}`);
  });
}

/** Runs `count` calls of `fn` at once and sorts the outcomes into fulfilled values and rejection reasons. */
export async function race<T>(
  count: number,
  fn: (i: number) => Promise<T>,
): Promise<{ fulfilled: { i: number; value: T }[]; rejected: { i: number; reason: unknown }[] }> {
  const results = await Promise.allSettled(Array.from({ length: count }, (_, i) => fn(i)));
  const fulfilled: { i: number; value: T }[] = [];
  const rejected: { i: number; reason: unknown }[] = [];
  results.forEach((r, i) => (r.status === 'fulfilled' ? fulfilled.push({ i, value: r.value }) : rejected.push({ i, reason: r.reason })));
  return { fulfilled, rejected };
}

/** Asserts every reason is a `BackupSdkError` with `code`. */
export function allHaveCode(reasons: unknown[], code: ErrorCode): void {
  for (const reason of reasons) {
    assert.ok(
      isBackupSdkError(reason, code),
      `expected ${code}, got ${reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason)}`,
    );
  }
}

/** A short random suffix so checks on a shared store do not see each other's rows. */
export function uniqueSuffix(): string {
  return Math.random().toString(36).slice(2, 10);
}
