import { describe, expect, it } from 'vitest';
import { parsePgDumpHeader } from '../../../src/pipeline/pg-dump-header.js';

/** A custom-format header as pg_backup_archiver.c WriteHead writes it (intSize 4). */
function header(vmin: number, strings: [string, string, string]): Buffer {
  const int = (n: number) => {
    const b = Buffer.alloc(5);
    b[0] = n < 0 ? 1 : 0;
    b.writeUInt32LE(Math.abs(n), 1);
    return b;
  };
  const str = (s: string) => Buffer.concat([int(Buffer.byteLength(s)), Buffer.from(s)]);
  return Buffer.concat([
    Buffer.from('PGDMP'),
    Buffer.from([1, vmin, 0, 4, 8, 1]),
    vmin >= 15 ? Buffer.from([1]) : int(-1),
    ...[12, 30, 2, 10, 2, 126, 0].map(int),
    ...strings.map(str),
    Buffer.alloc(64, 0xaa),
  ]);
}

describe('parsePgDumpHeader', () => {
  it('reads pg_dump 15 (format 1.14) headers', () => {
    expect(parsePgDumpHeader(header(14, ['shop', '15.8 (Debian 15.8-0+deb12u1)', '15.8 (Debian 15.8-0+deb12u1)']))).toEqual({
      archive_version: '1.14',
      database: 'shop',
      server_version: '15.8 (Debian 15.8-0+deb12u1)',
      pg_dump_version: '15.8 (Debian 15.8-0+deb12u1)',
    });
  });
  it('reads pg_dump 16+ (format 1.15) headers', () => {
    expect(parsePgDumpHeader(header(15, ['db', '14.12', '16.4']))).toMatchObject({
      archive_version: '1.15',
      server_version: '14.12',
      pg_dump_version: '16.4',
    });
  });
  it('answers null for anything else or a truncated header', () => {
    expect(parsePgDumpHeader(Buffer.from('-- PostgreSQL database dump\n'))).toBeNull();
    expect(parsePgDumpHeader(header(14, ['db', '15', '15']).subarray(0, 60))).toBeNull();
    expect(parsePgDumpHeader(Buffer.alloc(0))).toBeNull();
  });
});
