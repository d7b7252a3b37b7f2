/**
 * A small pool of stateful connections (FTP control connections, SSH sessions): at most `max`
 * open, idle ones reused, broken ones destroyed instead of returned. FTP runs one transfer per
 * connection, so a few connections let `list`-heavy and concurrent work overlap.
 */
export class ConnectionPool<T> {
  private readonly idle: T[] = [];
  private readonly waiting: ((c: T | undefined) => void)[] = [];
  private open = 0;
  private closed = false;

  constructor(
    private readonly create: () => Promise<T>,
    private readonly destroyConnection: (c: T) => void | Promise<void>,
    private readonly max: number,
    /** Whether an idle connection still works (a server may have dropped it meanwhile). */
    private readonly isAlive: (c: T) => boolean = () => true,
  ) {}

  /** Runs `fn` with a connection; destroys it instead of reusing it when `fn` throws. */
  async use<R>(fn: (c: T) => Promise<R>): Promise<R> {
    const c = await this.acquire();
    try {
      const result = await fn(c);
      this.release(c);
      return result;
    } catch (error) {
      this.destroy(c);
      throw error;
    }
  }

  /** A connection for the caller's exclusive use; give it back with `release` or `destroy`. */
  async acquire(): Promise<T> {
    if (this.closed) throw new Error('connection pool is closed');
    for (let c = this.idle.pop(); c !== undefined; c = this.idle.pop()) {
      if (this.isAlive(c)) return c;
      this.open--;
      void Promise.resolve()
        .then(() => this.destroyConnection(c))
        .catch(() => undefined);
    }
    if (this.open < this.max) {
      this.open++;
      try {
        return await this.create();
      } catch (error) {
        this.open--;
        this.wakeOne();
        throw error;
      }
    }
    const handed = await new Promise<T | undefined>((resolve) => this.waiting.push(resolve));
    return handed ?? this.acquire();
  }

  /** Returns a healthy connection. */
  release(c: T): void {
    if (this.closed) {
      this.destroy(c);
      return;
    }
    const next = this.waiting.shift();
    if (next) next(c);
    else this.idle.push(c);
  }

  /** Closes a broken connection and lets a waiter open a new one. */
  destroy(c: T): void {
    this.open--;
    void Promise.resolve()
      .then(() => this.destroyConnection(c))
      .catch(() => undefined);
    this.wakeOne();
  }

  private wakeOne(): void {
    const next = this.waiting.shift();
    if (next) next(undefined);
  }

  /** Closes every idle connection; connections in use are closed when released. */
  async close(): Promise<void> {
    this.closed = true;
    const all = this.idle.splice(0);
    this.open -= all.length;
    await Promise.all(all.map(async (c) => this.destroyConnection(c)));
    for (const w of this.waiting.splice(0)) w(undefined);
  }
}
