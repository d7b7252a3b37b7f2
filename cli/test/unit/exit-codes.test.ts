import { readFileSync } from 'node:fs';
import { ERROR_CODES } from 'odoo-backup-sdk';
import { describe, expect, it } from 'vitest';
import { EXIT_CODE_BY_ERROR } from '../../src/exit-codes.js';

/** The exit-code table of docs/cli.md: `| status | meaning | codes |`, codes in backticks. */
function documentedExitCodes(): Record<string, number> {
  const doc = readFileSync(new URL('../../../docs/cli.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Exit codes'));
  const table: Record<string, number> = {};
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 4 || !/^\d+$/.test(cells[1]!)) continue;
    for (const [, code] of cells[3]!.matchAll(/`(E_[A-Z_]+)`/g)) table[code!] = Number(cells[1]);
  }
  return table;
}

describe('exit codes', () => {
  it('every code of the catalogue has an exit status, and nothing else does', () => {
    expect(Object.keys(EXIT_CODE_BY_ERROR).sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('docs/cli.md lists exactly the map', () => {
    expect(documentedExitCodes()).toEqual({ ...EXIT_CODE_BY_ERROR });
  });

  it('storage, source and restore codes follow their prefix', () => {
    for (const [code, status] of Object.entries(EXIT_CODE_BY_ERROR)) {
      if (code.startsWith('E_STORAGE')) expect(status, code).toBe(3);
      if (code.startsWith('E_SOURCE')) expect(status, code).toBe(4);
      if (code.startsWith('E_RESTORE')) expect(status, code).toBe(6);
    }
  });
});
