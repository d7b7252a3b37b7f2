// `npm run demo` is the README's first command: run it as a user does (tsx, piped output) on the
// machine's real PostgreSQL, and check what it claims: backup verified, restore into a new
// database proven (same rows per table, every filestore file named by its SHA-1), nothing left.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');

describe('examples/demo.ts (npm run demo)', () => {
  it('backs up, restores into odoo_demo_copy, proves the copy and cleans up', async () => {
    const { stdout } = await promisify(execFile)(join(root, 'node_modules/.bin/tsx'), ['examples/demo.ts'], {
      cwd: root,
      maxBuffer: 16 * 1024 * 1024,
    });
    expect(stdout).toMatch(/ verified: .* pg_restore lists \d+ TOC entries \(3 with table data\)/);
    // Piped, each progress line is its step's last state: a part's line shows that part's own size.
    const sizes = / verified: .*; dump (\d+\.\d\d) MiB .*; filestore (\d+\.\d\d) MiB;/.exec(stdout);
    expect(sizes, stdout).not.toBeNull();
    expect(stdout).toMatch(new RegExp(`dumping +filestore\\.tar\\.gz +${sizes![2]} MiB`));
    expect(stdout).toMatch(new RegExp(`dumping +dump\\.sql +${sizes![1]} MiB`));
    expect(stdout.match(/uploading +manifest\.json /g)).toHaveLength(1);
    expect(stdout).toContain('Restore verified in ');
    for (const [table, rows] of [
      ['res_partner', '20000'],
      ['res_users', '100'],
      ['ir_attachment', '200'],
    ])
      expect(stdout).toMatch(new RegExp(`${table} +${rows} rows in odoo_demo, +${rows} in odoo_demo_copy`));
    const filestore = /200 of 200 files in (\S+) match their SHA-1 names, the same files as the original/.exec(stdout);
    expect(filestore, stdout).not.toBeNull();
    expect(filestore![1]).toMatch(/filestore\/odoo_demo_copy$/);
    expect(existsSync(dirname(dirname(filestore![1]!))), 'the demo removes its temp folder').toBe(false);
  });
});
