import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { psqlHonoursRestrict, restrictedScript } from '../../../src/sources/psql-restrict.js';

describe('psqlHonoursRestrict', () => {
  it.each([
    ['psql (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)', false],
    ['psql (PostgreSQL) 15.19', true],
    ['psql (PostgreSQL) 16.14', false],
    ['psql (PostgreSQL) 16.15', true],
    ['psql (PostgreSQL) 17.10', false],
    ['psql (PostgreSQL) 17.11', true],
    ['psql (PostgreSQL) 18.5', false],
    ['psql (PostgreSQL) 18.6', true],
    ['psql (PostgreSQL) 19.0', true],
    ['psql (PostgreSQL) 14.99', false],
    ['psql (PostgreSQL) 13.22', false],
    ['no version', false],
  ])('%s -> %s', (text, expected) => {
    expect(psqlHonoursRestrict(text)).toBe(expected);
  });
});

describe('restrictedScript', () => {
  it('puts a fresh random \\restrict line before the script', async () => {
    const a = (await buffer(restrictedScript(Readable.from([Buffer.from('SELECT 1;\n')])))).toString();
    const b = (await buffer(restrictedScript(Readable.from([Buffer.from('SELECT 1;\n')])))).toString();
    expect(a).toMatch(/^\\restrict [0-9a-f]{48}\nSELECT 1;\n$/);
    expect(a).not.toBe(b);
  });
});
