import { EXIT } from '../exit-codes.js';
import { openProvider } from '../session.js';
import { storageSettings, type ConfigFile } from '../settings.js';
import type { CommandContext } from './context.js';

/** The flags of `storage test`. */
export interface StorageTestFlags {
  storageRoot?: string;
}

/**
 * `odoo-backup storage test`: writes, reads back and deletes a small probe object, reporting each
 * step (the SDK's `ConnectionTestResult`). Exit 3 when a step fails.
 */
export async function storageTestCommand(flags: StorageTestFlags, config: ConfigFile, ctx: CommandContext): Promise<number> {
  const provider = openProvider(storageSettings(flags.storageRoot, config, ctx.env), 'default');
  try {
    const result = await provider.testConnection();
    ctx.out.result(result, () =>
      [
        `storage ${provider.name}: ${result.ok ? 'ok' : 'FAILED'}${result.message ? ` (${result.message})` : ''}`,
        ...result.steps.map(
          (s) => `  ${s.ok ? 'ok  ' : 'FAIL'} ${s.step.padEnd(7)} ${s.duration_ms} ms${s.message ? `  ${s.message}` : ''}`,
        ),
      ].join('\n'),
    );
    return result.ok ? EXIT.OK : EXIT.STORAGE;
  } finally {
    await provider.close().catch(() => undefined);
  }
}
