// TLS failures are classified by what failed: only a certificate problem gets the settings.ca advice.
import { describe, expect, it } from 'vitest';
import { classifyFtpError, tlsFailure } from '../../../src/storage/ftp/ftp-errors.js';

const ctx = { host: 'ftp.example.com', action: 'upload', key: 'a/b.zip', secrets: [] };
const fail = (code: string, message = 'boom') => Object.assign(new Error(message), { code });

describe('FTP TLS error classification', () => {
  it.each([
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'CERT_HAS_EXPIRED',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'ERR_TLS_CERT_ALTNAME_INVALID',
  ])('%s is a certificate problem: E_STORAGE_TLS with the settings.ca advice', (code) => {
    expect(tlsFailure(code, '')).toBe('certificate');
    const error = classifyFtpError(fail(code), ctx);
    expect(error).toMatchObject({ code: 'E_STORAGE_TLS', transient: false });
    expect(error.message).toContain('settings.ca');
  });

  it.each([
    'ERR_SSL_UNSUPPORTED_PROTOCOL',
    'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
    'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
    'ERR_SSL_NO_SHARED_CIPHER',
  ])('%s is a failed negotiation: E_STORAGE_TLS without the certificate advice', (code) => {
    expect(tlsFailure(code, '')).toBe('negotiation');
    const error = classifyFtpError(fail(code), ctx);
    expect(error.code).toBe('E_STORAGE_TLS');
    expect(error.message).not.toContain('settings.ca');
    expect(error.message).not.toMatch(/certificate/i);
  });

  it.each(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_TLSV1_ALERT_DECODE_ERROR', 'ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC'])(
    '%s (seen on a data connection after a good handshake) is a TLS session failure, not a certificate one',
    (code) => {
      expect(tlsFailure(code, 'ssl3_get_record:wrong version number')).toBe('session');
      const error = classifyFtpError(fail(code, 'ssl3_get_record:wrong version number'), ctx);
      expect(error.code).toBe('E_STORAGE');
      expect(error.message).toContain(code);
      expect(error.message).not.toContain('settings.ca');
    },
  );

  it('is undefined for errors that are not TLS ones', () => {
    expect(tlsFailure('ECONNRESET', 'socket hang up')).toBeUndefined();
    expect(tlsFailure(undefined, 'Timeout')).toBeUndefined();
  });
});
