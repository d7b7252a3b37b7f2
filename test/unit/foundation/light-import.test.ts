// Importing the package must stay cheap: the provider SDKs (AWS SDK, basic-ftp, ssh2 with its
// native addon, ssh2-sftp-client) load on first use, never on import. Each entry point is imported
// into a fresh Node process (from source through tsx) and the loaded packages are read back.
// The RSS figure lives in `npm run bench` (bench/import.bench.ts), not here.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const probe = join(root, 'scripts/import-probe.mjs');
const run = promisify(execFile);

interface ProbeReport {
  packages: string[];
  native_addons: string[];
}

async function loadedBy(target: string, viaTsx: boolean): Promise<ProbeReport> {
  const args = [...(viaTsx ? ['--import', 'tsx'] : []), probe, target];
  const { stdout } = await run(process.execPath, args, { cwd: root });
  return JSON.parse(stdout) as ProbeReport;
}

/** Whether ssh2's native crypto addon loads into this Node (it exists and matches its ABI). */
function addonLoadsHere(): boolean {
  try {
    createRequire(import.meta.url)(join(root, 'node_modules/ssh2/lib/protocol/crypto/build/Release/sshcrypto.node'));
    return true;
  } catch {
    return false;
  }
}

const heavy = (report: ProbeReport) =>
  report.packages.filter(
    (p) => p.startsWith('@aws-sdk/') || p.startsWith('@smithy/') || ['basic-ftp', 'ssh2', 'ssh2-sftp-client'].includes(p),
  );

describe('light import', () => {
  it('the probe sees a provider SDK and its native addon when one is loaded', async () => {
    const report = await loadedBy('ssh2-sftp-client', false);
    expect(heavy(report)).toEqual(['ssh2', 'ssh2-sftp-client']);
    // ssh2's addon was built for the Node that ran `npm ci`; under another Node ABI (the Node 22
    // and 24 runs of CI) ssh2 falls back to JavaScript crypto, and the probe must then see none.
    expect(report.native_addons.some((f) => f.endsWith('sshcrypto.node'))).toBe(addonLoadsHere());
  });

  it.each([
    ['odoo-backup-sdk', 'src/index.ts'],
    ['odoo-backup-sdk/testing', 'src/testing/index.ts'],
  ])('importing %s loads no provider SDK and no native addon', async (_name, file) => {
    const report = await loadedBy(join(root, file), true);
    expect(heavy(report)).toEqual([]);
    expect(report.native_addons).toEqual([]);
  });
});
