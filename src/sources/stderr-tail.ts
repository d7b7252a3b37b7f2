/** How many bytes of a tool's stderr are kept for error messages and `error_details`. */
export const STDERR_TAIL_BYTES = 8192;

/**
 * Keeps the last {@link STDERR_TAIL_BYTES} bytes written to it: a tool may print megabytes of
 * warnings, and only the end (where the fatal error is) matters.
 */
export class StderrTail {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly limit = STDERR_TAIL_BYTES) {}

  /** Appends a chunk, dropping the oldest bytes beyond the limit. */
  push(chunk: Buffer | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.chunks.push(buf);
    this.size += buf.length;
    while (this.size - this.chunks[0]!.length >= this.limit) {
      this.size -= this.chunks.shift()!.length;
    }
  }

  /** The kept bytes as text (a leading partial UTF-8 sequence is replaced, never fatal). */
  toString(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}
