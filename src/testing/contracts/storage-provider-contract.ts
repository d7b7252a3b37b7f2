import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { PassThrough, Readable, Transform } from 'node:stream';
import { isBackupSdkError } from '../../errors/backup-sdk-error.js';
import type { StorageErrorCode } from '../../errors/errors.js';
import type { StorageProvider } from '../../ports/storage-provider.js';
import { registerChecks, type ContractCheck } from './contract-check.js';

/** What the storage contract needs to know about the adapter under test. */
export interface StorageContractOptions {
  /** Size of the large streamed round trip (default 64 MiB). */
  largeObjectBytes?: number;
  /** Keys to create for the paging test (default 2,500). */
  listKeyCount?: number;
  /** Returns leftovers (temp files, pending multipart uploads) the adapter may have left; must be empty after failures. */
  leftovers?: () => Promise<string[]>;
  /**
   * Bytes sent before the abort and source-failure checks stop an upload (default 2 MiB). Set it
   * above the adapter's part size (S3) so those checks also cover a started multipart upload.
   */
  midUploadBytes?: number;
  /**
   * Kills the real server mid-upload and starts it again: the upload must end with a typed
   * `StorageError` and, once the server is back, no object may exist at the key.
   */
  serverCrash?: {
    kill(): Promise<void>;
    restart(): Promise<void>;
    /** Bytes read from the source before the kill (default 8 MiB). */
    afterBytes?: number;
    /** The provider to use (e.g. one with short retry delays); default: the contract's factory. */
    provider?: () => StorageProvider | Promise<StorageProvider>;
  };
  /**
   * A provider with wrong credentials: its upload must fail with `E_STORAGE_AUTH`, and `secret`
   * (the wrong password or key it was given) must not appear in its connection test result.
   */
  wrongCredentials?: { provider: () => StorageProvider | Promise<StorageProvider>; secret: string };
  /** A provider whose bucket or root folder does not exist: `E_STORAGE_NOT_FOUND`, also from testConnection. */
  missingContainer?: () => StorageProvider | Promise<StorageProvider>;
}

/** A deterministic pseudo-random stream of `size` bytes, generated chunk by chunk (never held whole). */
export function generatedStream(size: number, seed = 1): { stream: Readable; digest: () => string } {
  const hash = createHash('sha256');
  let produced = 0;
  let state = seed;
  const stream = new Readable({
    read() {
      if (produced >= size) return this.push(null);
      const n = Math.min(1024 * 1024, size - produced);
      const chunk = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) {
        if ((i & 3) === 0) state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
        chunk[i] = (state >>> ((i & 3) * 8)) & 0xff;
      }
      produced += n;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}

/** SHA-256 and byte count of a stream, read to its end. */
export async function digestStream(stream: NodeJS.ReadableStream): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

const bytes = (b: Buffer) => Readable.from([b]);

/** Resolves once the adapter has read what was written to `body` (its buffer drained). */
async function waitUntilSent(body: PassThrough): Promise<void> {
  while (body.readableLength > 0 || body.writableLength > 0) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** The storage provider contract as named checks. `factory` returns a provider on an empty store. */
export function storageProviderChecks(
  factory: () => StorageProvider | Promise<StorageProvider>,
  options: StorageContractOptions = {},
): ContractCheck[] {
  const large = options.largeObjectBytes ?? 64 * 1024 * 1024;
  const listCount = options.listKeyCount ?? 2500;
  const mid = options.midUploadBytes ?? 2 * 1024 * 1024;
  const uniq = () => `contract/${randomBytes(6).toString('hex')}`;
  const withProvider = (fn: (p: StorageProvider) => Promise<void>) => async () => {
    const p = await factory();
    try {
      await fn(p);
    } finally {
      await p.close();
    }
  };
  return [
    {
      name: 'round-trips 0-byte, 1-byte and large streamed objects byte for byte',
      run: withProvider(async (p) => {
        for (const size of [0, 1, large]) {
          const key = `${uniq()}/obj-${size}.bin`;
          const src = generatedStream(size, size + 7);
          const res = await p.upload(key, src.stream, { contentType: 'application/octet-stream' });
          assert.equal(res.size, size);
          const back = await digestStream(await p.download(key));
          assert.equal(back.size, size);
          assert.equal(back.sha256, src.digest());
          const head = await p.head(key);
          assert.ok(head.exists);
          assert.equal(head.exists && head.size, size);
          await p.delete(key);
        }
      }),
    },
    {
      name: 'reads byte ranges',
      run: withProvider(async (p) => {
        const key = `${uniq()}/range.bin`;
        const data = randomBytes(10_000);
        await p.upload(key, bytes(data));
        const mid = await digestStream(await p.download(key, { range: { start: 100, end: 199 } }));
        assert.equal(mid.size, 100);
        assert.equal(mid.sha256, createHash('sha256').update(data.subarray(100, 200)).digest('hex'));
        const tail = await digestStream(await p.download(key, { range: { start: 9_990 } }));
        assert.equal(tail.sha256, createHash('sha256').update(data.subarray(9_990)).digest('hex'));
      }),
    },
    {
      name: 'downloads under one long-lived signal leave no abort listener on it',
      run: withProvider(async (p) => {
        // A restore reads one archive through dozens of ranged downloads under its job's signal.
        const key = `${uniq()}/listeners.bin`;
        await p.upload(key, bytes(randomBytes(4096)));
        const signal = new AbortController().signal;
        for (let i = 0; i < 12; i++) await digestStream(await p.download(key, { range: { start: i * 100, end: i * 100 + 99 }, signal }));
        const early = await p.download(key, { signal });
        early.destroy(); // a reader that stops early
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal(getEventListeners(signal, 'abort').length, 0, 'abort listeners left on the signal after the downloads closed');
      }),
    },
    {
      name: `lists ${listCount} keys under a prefix across pages, and nothing outside it`,
      run: withProvider(async (p) => {
        const prefix = `${uniq()}/many/`;
        const keys = Array.from({ length: listCount }, (_, i) => `${prefix}${String(i).padStart(5, '0')}.txt`);
        for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => p.upload(k, bytes(Buffer.from(k)))));
        await p.upload(`${prefix.slice(0, -1)}-other/x.txt`, bytes(Buffer.from('x')));
        const seen: string[] = [];
        for await (const o of p.list(prefix)) seen.push(o.key);
        assert.deepEqual(seen.sort(), keys);
      }),
    },
    {
      name: 'delete is idempotent and head reports a missing object',
      run: withProvider(async (p) => {
        const key = `${uniq()}/gone.txt`;
        await p.upload(key, bytes(Buffer.from('bye')));
        await p.delete(key);
        await p.delete(key);
        assert.equal((await p.head(key)).exists, false);
      }),
    },
    {
      name: 'downloading a missing key fails with E_STORAGE_NOT_FOUND',
      run: withProvider(async (p) => {
        await assert.rejects(
          async () => digestStream(await p.download(`${uniq()}/missing.bin`)),
          (e: unknown) => isBackupSdkError(e, 'E_STORAGE_NOT_FOUND'),
        );
      }),
    },
    {
      name: 'rejects keys that could escape the root, or hide from list, with E_VALIDATION in every method',
      run: withProvider(async (p) => {
        const keys = ['../x', '/etc/passwd', 'a/../../b', 'a//b', 'a\\b', '', 'a/./b', 'a\u0000b', 'a/.obsdk-partial-x'];
        for (const key of keys) {
          const calls: [string, () => Promise<unknown>][] = [
            ['upload', () => p.upload(key, bytes(Buffer.from('x')))],
            ['download', () => p.download(key)],
            ['head', () => p.head(key)],
            ['delete', () => p.delete(key)],
          ];
          for (const [method, call] of calls)
            await assert.rejects(call, (e: unknown) => isBackupSdkError(e, 'E_VALIDATION'), `${method}(${JSON.stringify(key)})`);
        }
      }),
    },
    {
      name: 'an aborted upload leaves no object and no leftovers',
      run: withProvider(async (p) => {
        const key = `${uniq()}/aborted.bin`;
        const controller = new AbortController();
        let sent = 0;
        const body = new Readable({
          read() {
            sent += 256 * 1024;
            if (sent > mid) controller.abort(new Error('stop'));
            // Finite, so an adapter that ignores the signal fails the check instead of hanging it.
            this.push(sent > mid + 16 * 1024 * 1024 ? null : randomBytes(256 * 1024));
          },
        });
        await assert.rejects(
          () => p.upload(key, body, { signal: controller.signal }),
          (e: unknown) => isBackupSdkError(e),
        );
        assert.equal((await p.head(key)).exists, false);
        if (options.leftovers) assert.deepEqual(await options.leftovers(), []);
      }),
    },
    {
      name: 'a source stream that fails mid-upload leaves no object',
      run: withProvider(async (p) => {
        const key = `${uniq()}/broken.bin`;
        let n = 0;
        const body = new Readable({
          read() {
            if (++n > Math.ceil(mid / (256 * 1024))) return this.destroy(new Error('source broke'));
            this.push(randomBytes(256 * 1024));
          },
        });
        await assert.rejects(() => p.upload(key, body));
        assert.equal((await p.head(key)).exists, false);
        if (options.leftovers) assert.deepEqual(await options.leftovers(), []);
      }),
    },
    {
      name: 'a source stream that fails before its first byte, or before the upload began, leaves no object and no leftovers',
      run: withProvider(async (p) => {
        // The failure can come while the adapter is still opening its file or upload: clean-up
        // must wait for that, or the open lands after it (a race, hence the repeats).
        for (let i = 0; i < 10; i++) {
          const key = `${uniq()}/failed-at-once.bin`;
          const body = new Readable({
            read() {
              this.destroy(new Error('source broke at once'));
            },
          });
          // Every other time the body has failed already when the adapter gets to it.
          if (i % 2 === 1) {
            body.on('error', () => undefined);
            body.destroy(new Error('source broke before the upload began'));
          }
          await assert.rejects(() => p.upload(key, body));
          assert.equal((await p.head(key)).exists, false);
          if (options.leftovers) assert.deepEqual(await options.leftovers(), [], `attempt ${i + 1}`);
        }
      }),
    },
    {
      name: 'presign either returns a URL that serves the object or raises E_UNSUPPORTED',
      run: withProvider(async (p) => {
        const key = `${uniq()}/signed.txt`;
        await p.upload(key, bytes(Buffer.from('signed content')));
        if (!p.canPresign) {
          await assert.rejects(
            () => p.presign(key, 300),
            (e: unknown) => isBackupSdkError(e, 'E_UNSUPPORTED'),
          );
          return;
        }
        const res = await fetch(await p.presign(key, 300));
        assert.equal(res.status, 200);
        assert.equal(await res.text(), 'signed content');
      }),
    },
    {
      name: "abortPartialUploads(key) removes nothing else: the objects at its key and beside it, another key's upload in flight",
      run: withProvider(async (p) => {
        assert.equal(typeof p.abortPartialUploads, 'function', 'abortPartialUploads is implemented (crash recovery calls it)');
        const dir = uniq();
        const [a, b] = [`${dir}/a.zip`, `${dir}/b.zip`];
        // A key that starts with `a`'s: an adapter that matches by prefix would break its upload.
        const c = `${a}.age`;
        await p.upload(a, bytes(Buffer.from('a')));
        await p.upload(b, bytes(Buffer.from('b')));
        const body = new PassThrough();
        const payload = randomBytes(mid + 1024);
        body.write(payload.subarray(0, mid));
        const inFlight = p.upload(c, body);
        inFlight.catch(() => undefined);
        // Give the upload time to reach the store (its temp file or multipart upload), then remove around it.
        await waitUntilSent(body);
        assert.equal(await p.abortPartialUploads!(a), 0);
        assert.equal(await p.abortPartialUploads!(b), 0);
        body.end(payload.subarray(mid));
        assert.equal((await inFlight).size, payload.length);
        assert.deepEqual(await digestStream(await p.download(c)), await digestStream(bytes(payload)));
        for (const [key, content] of [
          [a, 'a'],
          [b, 'b'],
        ] as const)
          assert.equal((await digestStream(await p.download(key))).size, content.length, key);
        if (options.leftovers) assert.deepEqual(await options.leftovers(), []);
      }),
    },
    ...optionalChecks(factory, options, uniq),
    {
      name: 'testConnection writes, reads back and deletes a probe, and leaves no object behind',
      run: withProvider(async (p) => {
        const keys = async () => {
          const listed: string[] = [];
          for await (const o of p.list('')) listed.push(o.key);
          return listed;
        };
        const before = await keys();
        const result = await p.testConnection();
        assert.equal(result.ok, true, result.message);
        assert.deepEqual(
          result.steps.map((s) => s.step),
          ['write', 'read', 'delete'],
        );
        // Other checks may write meanwhile: only the probe's own objects are compared.
        const probes = (list: string[]) => list.filter((k) => k.includes('odoo-backup-sdk-probe'));
        assert.deepEqual(probes(await keys()), probes(before));
      }),
    },
  ];
}

const isStorageCode = (code: StorageErrorCode) => (e: unknown) => isBackupSdkError(e, code);

/** The checks that need a handle on the real server or a second, misconfigured provider. */
function optionalChecks(
  factory: () => StorageProvider | Promise<StorageProvider>,
  options: StorageContractOptions,
  uniq: () => string,
): ContractCheck[] {
  const checks: ContractCheck[] = [];
  const { serverCrash, wrongCredentials, missingContainer } = options;
  if (serverCrash) {
    checks.push({
      name: 'a server killed mid-upload gives a typed storage error and no partial object after restart',
      run: async () => {
        const key = `${uniq()}/crash.bin`;
        let killing: Promise<void> | undefined;
        const src = generatedStream(64 * 1024 * 1024, 5);
        let seen = 0;
        const body = src.stream.pipe(
          new Transform({
            transform(chunk: Buffer, _enc, cb) {
              seen += chunk.length;
              if (!killing && seen >= (serverCrash.afterBytes ?? 8 * 1024 * 1024)) killing = serverCrash.kill();
              cb(null, chunk);
            },
          }),
        );
        const make = serverCrash.provider ?? factory;
        const p = await make();
        try {
          const error = await p.upload(key, body).then(
            () => undefined,
            (e: unknown) => e,
          );
          await killing;
          assert.ok(isBackupSdkError(error) && error.code.startsWith('E_STORAGE'), `expected a StorageError, got ${String(error)}`);
        } finally {
          await serverCrash.restart();
          await p.close();
        }
        const after = await make();
        try {
          // What the cut upload left (a temp file, a pending multipart upload) goes with it.
          if (after.abortPartialUploads) await after.abortPartialUploads(key);
          if (options.leftovers) assert.deepEqual(await options.leftovers(), []);
          assert.equal((await after.head(key)).exists, false);
          const listed: string[] = [];
          for await (const o of after.list(key.split('/')[0] + '/')) listed.push(o.key);
          assert.deepEqual(
            listed.filter((k) => k.startsWith(key.slice(0, key.lastIndexOf('/')))),
            [],
          );
        } finally {
          await after.close();
        }
      },
    });
  }
  if (wrongCredentials) {
    checks.push({
      name: 'wrong credentials fail with E_STORAGE_AUTH, at once and without the secret in the message',
      run: async () => {
        const p = await wrongCredentials.provider();
        try {
          const error = await p.upload(`${uniq()}/x.txt`, bytes(Buffer.from('x'))).then(
            () => undefined,
            (e: unknown) => e,
          );
          assert.ok(isBackupSdkError(error, 'E_STORAGE_AUTH'), `expected E_STORAGE_AUTH, got ${String(error)}`);
          assert.equal(error.transient, false);
          assert.ok(!JSON.stringify(error.toJSON()).includes(wrongCredentials.secret), 'the secret appears in the error');
          const result = await p.testConnection();
          assert.equal(result.ok, false);
          assert.ok(!JSON.stringify(result).includes(wrongCredentials.secret), 'the secret appears in the connection test result');
        } finally {
          await p.close();
        }
      },
    });
  }
  if (missingContainer) {
    checks.push({
      name: 'a missing bucket or root folder fails with E_STORAGE_NOT_FOUND and testConnection says so',
      run: async () => {
        const p = await missingContainer();
        try {
          await assert.rejects(() => p.upload(`${uniq()}/x.txt`, bytes(Buffer.from('x'))), isStorageCode('E_STORAGE_NOT_FOUND'));
          const result = await p.testConnection();
          assert.equal(result.ok, false);
          assert.match(result.message, /does not exist/);
        } finally {
          await p.close();
        }
      },
    });
  }
  return checks;
}

/** Registers the storage contract with vitest: `runStorageProviderContract('my s3', () => provider)`. */
export function runStorageProviderContract(
  name: string,
  factory: () => StorageProvider | Promise<StorageProvider>,
  options: StorageContractOptions = {},
): Promise<void> {
  return registerChecks(`StorageProvider contract: ${name}`, storageProviderChecks(factory, options), 180_000);
}
