import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CoalescingStream } from '../../../src/streams/coalescing-stream.js';

/** The chunks as pushed ('data' events; a paused reader would see them merged). */
function collect(stream: CoalescingStream): Promise<Buffer[]> {
  const out: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => out.push(chunk));
  return new Promise((resolve, reject) => stream.on('end', () => resolve(out)).on('error', reject));
}

describe('CoalescingStream', () => {
  it('joins chunks that arrive together into chunks of at least the size, the bytes unchanged and in order', async () => {
    const input = Array.from({ length: 100 }, (_, i) => Buffer.alloc(7, i));
    const stream = new CoalescingStream(64);
    const out = collect(stream);
    for (const chunk of input) stream.write(chunk);
    stream.end();
    const chunks = await out;
    expect(Buffer.concat(chunks).equals(Buffer.concat(input))).toBe(true);
    expect(chunks.map((c) => c.length)).toEqual([...Array(10).fill(70)]); // 10 x 70 bytes: the first multiple of 7 >= 64
  });

  it('passes a chunk already that big as it is, and lets a short tail go at the end', async () => {
    const big = Buffer.alloc(100, 1);
    const stream = new CoalescingStream(64);
    const out = collect(stream);
    stream.write(big);
    stream.end(Buffer.from('ab'));
    const chunks = await out;
    expect(chunks[0]).toBe(big);
    expect(chunks.map((c) => c.length)).toEqual([100, 2]);
  });

  it('does not hold a slow source back: a lone small chunk goes on after maxHoldMs', async () => {
    const source = new PassThrough();
    const stream = new CoalescingStream(1024 * 1024, 5);
    source.pipe(stream);
    const seen: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => seen.push(chunk));
    source.write(Buffer.from('first'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([]); // held while more may come
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(Buffer.concat(seen).toString()).toBe('first');
    source.end();
  });

  it('emits nothing for an empty stream, and a destroyed stream drops what it held', async () => {
    expect(await collect(Readable.from([]).pipe(new CoalescingStream(64)))).toEqual([]);
    const stream = new CoalescingStream(64);
    const seen: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => seen.push(chunk));
    stream.write(Buffer.from('held'));
    stream.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([]);
  });
});
