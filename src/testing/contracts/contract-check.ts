/** One named behaviour of a port, checked with plain `node:assert` so it runs under any runner. */
export interface ContractCheck {
  name: string;
  run(): Promise<void>;
}

/**
 * Registers checks as vitest tests. vitest is imported lazily so the checks themselves work
 * without it (and so `odoo-backup-sdk/testing` loads in hosts that use another runner).
 */
export async function registerChecks(suite: string, checks: ContractCheck[], timeoutMs = 60_000): Promise<void> {
  const { describe, it } = await import('vitest');
  describe(suite, () => {
    for (const check of checks) it(check.name, () => check.run(), timeoutMs);
  });
}

/** Runs every check and returns the names of those that failed (to prove a suite catches a broken adapter). */
export async function failingChecks(checks: ContractCheck[]): Promise<string[]> {
  const failed: string[] = [];
  for (const check of checks) {
    try {
      await check.run();
    } catch {
      failed.push(check.name);
    }
  }
  return failed;
}
