// Short secrets (a one-character database password) must neither leak nor mangle messages, on
// the source and target paths (tool errors) and the storage paths (server messages).
import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../../../src/sources/redact-secrets.js';
import { toolExitError } from '../../../src/sources/tool-errors.js';
import { classifyFtpError } from '../../../src/storage/ftp/ftp-errors.js';
import { classifyS3Error } from '../../../src/storage/s3/s3-errors.js';
import { classifySftpError } from '../../../src/storage/sftp/sftp-errors.js';

const exit = (stderrTail: string) => ({ code: 1, signal: null, stderrTail });

describe('redactSecrets', () => {
  it('redacts a one-character secret where it stands alone, and nowhere inside words', () => {
    expect(redactSecrets('database "exist" does not exist; password x rejected', ['x'])).toBe(
      'database "exist" does not exist; password [redacted] rejected',
    );
    expect(redactSecrets('user=x password=x host=box', ['x'])).toBe('user=[redacted] password=[redacted] host=box');
    expect(redactSecrets('odoo_x and x_1 and x9 stay', ['x'])).toBe('odoo_x and x_1 and x9 stay');
    expect(redactSecrets('x', ['x'])).toBe('[redacted]');
  });

  it('treats a secret of punctuation or regex characters literally', () => {
    expect(redactSecrets('pw is a.b* (really)', ['a.b*'])).toBe('pw is [redacted] (really)');
    expect(redactSecrets('aXb stays', ['a.b'])).toBe('aXb stays');
    expect(redactSecrets('got $ and -', ['$', '-'])).toBe('got [redacted] and [redacted]');
    expect(redactSecrets('path a/b-c', ['a/b-c'])).toBe('path [redacted]');
  });

  it('redacts a long secret everywhere, inside longer tokens too', () => {
    expect(redactSecrets('sig=abcSECRETKEY12345xyz', ['SECRETKEY12345'])).toBe('sig=abc[redacted]xyz');
  });
});

describe('a one-character password in error messages', () => {
  it.each(['pg_dump', 'psql', 'pg_restore'] as const)('%s: never mangles the message, redacted where echoed', (tool) => {
    const error = toolExitError(tool, 'dump', exit(`${tool}: error: database "exist_x" does not exist\n`), { secrets: ['x'] });
    expect(error.message).toBe(`${tool} failed: database "exist_x" does not exist`);
    expect(error.details.stderr_tail).toBe(`${tool}: error: database "exist_x" does not exist\n`);
    const echoed = toolExitError(tool, 'dump', exit(`${tool}: error: bad password x for user odoo\n`), { secrets: ['x'] });
    expect(echoed.message).toBe(`${tool} failed: bad password [redacted] for user odoo`);
  });

  it('storage: FTP, SFTP and S3 messages keep every word and lose the password where it stands alone', () => {
    const errors = [
      (secrets: string[]) =>
        classifyFtpError(Object.assign(new Error('500 Command x unknown; cannot exist'), { code: 500 }), {
          host: 'h',
          action: 'upload',
          key: 'k',
          secrets,
        }),
      (secrets: string[]) =>
        classifySftpError(new Error('Channel x open failure: cannot exist'), {
          host: 'h',
          action: 'download',
          key: 'k',
          secrets,
        }),
      (secrets: string[]) =>
        classifyS3Error(Object.assign(new Error('Upstream x said no; cannot exist'), { name: 'UnknownServerThing' }), {
          provider: 's3',
          bucket: 'b',
          action: 'upload',
          key: 'k',
          secrets,
        }),
    ];
    for (const make of errors) {
      const plain = make([]).message;
      expect(plain).toMatch(/(^|\W)x(\W|$)/); // the server's text does echo it
      const message = make(['x']).message;
      expect(message).toBe(plain.replace(/(?<!\w)x(?!\w)/g, '[redacted]'));
      expect(message).not.toMatch(/(^|\W)x(\W|$)/);
    }
  });
});
