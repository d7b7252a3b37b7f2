import { describe, expect, it } from 'vitest';
import { StorageError } from '../../../src/index.js';
import { classifyFtpError } from '../../../src/storage/ftp/ftp-errors.js';
import { scrubMessage } from '../../../src/storage/network-errors.js';
import { withRetry } from '../../../src/storage/retry.js';
import { classifyS3Error } from '../../../src/storage/s3/s3-errors.js';
import { classifySftpError } from '../../../src/storage/sftp/sftp-errors.js';

const s3 = (error: unknown) =>
  classifyS3Error(error, { provider: 's3', bucket: 'b', action: 'upload', key: 'k', secrets: ['SECRETKEY123'] });
const sdkError = (name: string, status: number, message = name) =>
  Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });

describe('S3 error classification', () => {
  it.each([
    ['InvalidAccessKeyId', 403, 'E_STORAGE_AUTH', false],
    ['SignatureDoesNotMatch', 403, 'E_STORAGE_AUTH', false],
    ['NoSuchBucket', 404, 'E_STORAGE_NOT_FOUND', false],
    ['NoSuchKey', 404, 'E_STORAGE_NOT_FOUND', false],
    ['AccessDenied', 403, 'E_STORAGE_PERMISSION', false],
    ['SlowDown', 503, 'E_STORAGE_UNAVAILABLE', true],
    ['InternalError', 500, 'E_STORAGE_UNAVAILABLE', true],
    ['TooManyRequests', 429, 'E_STORAGE_UNAVAILABLE', true],
    ['BadGateway', 502, 'E_STORAGE_UNAVAILABLE', true],
    ['InvalidStorageClass', 400, 'E_STORAGE', false],
  ])('%s (HTTP %i) -> %s, transient %s', (name, status, code, transient) => {
    const e = s3(sdkError(name, status));
    expect(e).toBeInstanceOf(StorageError);
    expect(e).toMatchObject({ code, transient });
  });

  it('socket resets and timeouts are transient', () => {
    expect(s3(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toMatchObject({
      code: 'E_STORAGE_UNAVAILABLE',
      transient: true,
    });
    expect(s3(Object.assign(new Error('socket hang up'), {}))).toMatchObject({ code: 'E_STORAGE_UNAVAILABLE', transient: true });
  });

  it('keeps credentials out of the message and toJSON', () => {
    const e = s3(sdkError('WeirdError', 400, 'server echoed SECRETKEY123 back'));
    expect(e.message).not.toContain('SECRETKEY123');
    expect(JSON.stringify(e.toJSON())).not.toContain('SECRETKEY123');
  });
});

describe('FTP error classification', () => {
  const ftp = (code: number, message: string) =>
    classifyFtpError(Object.assign(new Error(message), { code }), { host: 'h', action: 'upload', key: 'k', secrets: ['pw-secret'] });
  it('maps reply codes to typed errors', () => {
    expect(ftp(530, '530 Login incorrect')).toMatchObject({ code: 'E_STORAGE_AUTH', transient: false });
    expect(ftp(550, "550 ENOENT: no such file or directory, stat '/srv/ftp/root/x'")).toMatchObject({ code: 'E_STORAGE_NOT_FOUND' });
    expect(ftp(550, '550 Permission denied')).toMatchObject({ code: 'E_STORAGE_PERMISSION' });
    expect(ftp(421, '421 Service not available')).toMatchObject({ code: 'E_STORAGE_UNAVAILABLE', transient: true });
    expect(ftp(452, '452 Insufficient storage')).toMatchObject({ code: 'E_STORAGE_FULL', transient: true });
  });
  it('removes server paths and secrets from what users see', () => {
    const e = ftp(501, "501 bad thing at '/srv/ftp/root/backups/x' with pw-secret");
    expect(e.message).not.toContain('/srv/ftp');
    expect(e.message).not.toContain('pw-secret');
    expect(String(e.cause)).not.toContain('/srv/ftp');
  });
});

describe('SFTP error classification', () => {
  const sftp = (error: unknown) => classifySftpError(error, { host: 'h', action: 'download', key: 'k', secrets: [] });
  it('maps ssh2 / ssh2-sftp-client errors to typed errors', () => {
    expect(
      sftp(Object.assign(new Error('All configured authentication methods failed'), { level: 'client-authentication' })),
    ).toMatchObject({ code: 'E_STORAGE_AUTH' });
    expect(sftp(Object.assign(new Error('_stat: No such file: /home/u/x'), { code: 'ENOENT' }))).toMatchObject({
      code: 'E_STORAGE_NOT_FOUND',
    });
    expect(sftp(Object.assign(new Error('Permission denied'), { code: 3 }))).toMatchObject({ code: 'E_STORAGE_PERMISSION' });
    expect(sftp(new Error('No response from server'))).toMatchObject({ code: 'E_STORAGE_UNAVAILABLE', transient: true });
  });
  it('does not show remote paths', () => {
    expect(sftp(new Error('open failed for /home/backup/secret-tenant/x')).message).not.toContain('/home/backup');
  });
});

describe('scrubMessage', () => {
  it('replaces absolute paths and secrets', () => {
    expect(scrubMessage("550 can't open '/var/ftp/a b' now", [])).toBe("550 can't open '<path>' now");
    expect(scrubMessage('token hunter2 leaked', ['hunter2'])).toBe('token [redacted] leaked');
  });
});

describe('withRetry', () => {
  const transient = () => new StorageError('E_STORAGE_UNAVAILABLE', 'down', { transient: true });
  it('retries transient failures with backoff, then succeeds', async () => {
    let calls = 0;
    const result = await withRetry(
      'op',
      async () => {
        if (++calls < 3) throw transient();
        return 'ok';
      },
      { retries: 4, minDelayMs: 1, maxDelayMs: 2 },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });
  it('fails permanent errors at once', async () => {
    let calls = 0;
    await expect(
      withRetry(
        'op',
        async () => {
          calls++;
          throw new StorageError('E_STORAGE_AUTH', 'bad key');
        },
        { retries: 4, minDelayMs: 1 },
      ),
    ).rejects.toMatchObject({ code: 'E_STORAGE_AUTH' });
    expect(calls).toBe(1);
  });
  it('gives up after the configured retries with the last transient error', async () => {
    let calls = 0;
    await expect(
      withRetry(
        'op',
        async () => {
          calls++;
          throw transient();
        },
        { retries: 2, minDelayMs: 1, maxDelayMs: 1 },
      ),
    ).rejects.toMatchObject({ code: 'E_STORAGE_UNAVAILABLE', transient: true });
    expect(calls).toBe(3);
  });
  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    const run = withRetry(
      'op',
      async () => {
        controller.abort(new Error('user stop'));
        throw transient();
      },
      { retries: 5, minDelayMs: 1, signal: controller.signal },
    );
    await expect(run).rejects.toMatchObject({ code: 'E_ABORTED' });
  });
});
