import { Readable } from 'node:stream';
import type { SFTPWrapper } from 'ssh2';

/** Options of {@link pipelinedReadStream}. */
export interface PipelinedReadOptions {
  /** First byte (default 0). */
  start?: number;
  /** Last byte, inclusive. */
  end: number;
  /**
   * Bytes per READ request (default: the server's limit as ssh2 learned it, else 255 KiB,
   * OpenSSH's). ssh2 splits a larger read into requests sent one after another: asking for 256 KiB
   * from OpenSSH (limit 255 KiB) ran at 103 MB/s here, 255 KiB at 241 MB/s.
   */
  chunkSize?: number;
  /** READ requests kept in flight per session (default 8). */
  parallel?: number;
}

/**
 * A download stream that keeps several SFTP READ requests in flight and delivers their data in
 * order. ssh2's own read stream waits for each reply before asking for the next, which made a
 * loopback download run at a third of the SSH transport's speed here. Memory is bounded by
 * `chunkSize x parallel` plus what the consumer buffers.
 */
export function pipelinedReadStream(sessions: SFTPWrapper | readonly SFTPWrapper[], path: string, options: PipelinedReadOptions): Readable {
  const all = Array.isArray(sessions) ? (sessions as readonly SFTPWrapper[]) : [sessions as SFTPWrapper];
  const chunkSize = options.chunkSize ?? Math.min(...all.map(serverReadLimit));
  const parallel = (options.parallel ?? 8) * all.length;
  const first = options.start ?? 0;
  const last = options.end;

  const open = (sftp: SFTPWrapper) =>
    new Promise<Buffer>((resolve, reject) => sftp.open(path, 'r', (err, handle) => (err ? reject(err) : resolve(handle))));
  const close = (sftp: SFTPWrapper, handle: Buffer) => new Promise<void>((resolve) => sftp.close(handle, () => resolve()));
  /** Reads `len` bytes at `pos`, repeating on short reads; shorter only at end of file. */
  const readFully = async (sftp: SFTPWrapper, handle: Buffer, pos: number, len: number): Promise<Buffer> => {
    const buf = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const n = await new Promise<number>((resolve, reject) =>
        sftp.read(handle, buf, got, len - got, pos + got, (err, bytesRead) => (err ? reject(err) : resolve(bytesRead))),
      );
      if (n === 0) break;
      got += n;
    }
    return got === len ? buf : buf.subarray(0, got);
  };

  async function* chunks(): AsyncGenerator<Buffer> {
    if (last < first) return;
    const opened = await Promise.allSettled(all.map(open));
    const handles = opened.map((o) => (o.status === 'fulfilled' ? o.value : null));
    const pending: { read: Promise<Buffer>; len: number }[] = [];
    let next = first;
    let turn = 0;
    const fill = () => {
      while (pending.length < parallel && next <= last) {
        const len = Math.min(chunkSize, last - next + 1);
        // Chunks go round-robin over the sessions: each has its own channel window.
        const i = turn++ % all.length;
        const read = readFully(all[i]!, handles[i]!, next, len);
        // Awaited in order below; this only keeps a later failure from being "unhandled" meanwhile.
        read.catch(() => undefined);
        pending.push({ read, len });
        next += len;
      }
    };
    try {
      const failed = opened.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (failed) throw failed.reason;
      fill();
      while (pending.length > 0) {
        const { read, len } = pending.shift()!;
        const buf = await read;
        fill();
        if (buf.length > 0) yield buf;
        if (buf.length < len) break; // the file ended early (it shrank)
      }
    } finally {
      await Promise.all(handles.map((h, i) => (h ? close(all[i]!, h) : undefined)));
    }
  }

  return Readable.from(chunks(), { objectMode: false, highWaterMark: chunkSize });
}

/** The largest READ the server answers in one reply (ssh2 reads OpenSSH's limits extension). */
function serverReadLimit(sftp: SFTPWrapper): number {
  const known = (sftp as unknown as { _maxReadLen?: unknown })._maxReadLen;
  return typeof known === 'number' && known > 0 ? known : 255 * 1024;
}
