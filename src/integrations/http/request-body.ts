import { BackupSdkError } from '../../errors/backup-sdk-error.js';

/** Is the content type JSON (`application/json`, `application/problem+json`, with or without parameters)? */
function isJson(contentType: string): boolean {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/**
 * Reads a request body as text, refusing it (`E_PAYLOAD_TOO_LARGE`) as soon as more than
 * `maxBytes` have arrived: bytes are counted as they are read, so a lying or absent
 * `Content-Length` cannot make the handler buffer more.
 */
export async function readBodyText(request: Request, maxBytes: number): Promise<string> {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  const tooLarge = () =>
    new BackupSdkError('E_PAYLOAD_TOO_LARGE', `The request body is larger than ${maxBytes} bytes`, { details: { max_bytes: maxBytes } });
  if (Number.isFinite(declared) && declared > maxBytes) {
    await request.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The JSON body of a request: `{}` when there is none, `E_UNSUPPORTED_MEDIA_TYPE` when it is not
 * declared JSON, `E_MALFORMED_JSON` when it does not parse. Returns the text too (its hash is an
 * idempotency fingerprint).
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<{ text: string; value: unknown }> {
  const contentType = request.headers.get('content-type');
  const text = await readBodyTextChecked(request, maxBytes, contentType);
  if (text.trim() === '') return { text, value: {} };
  try {
    return { text, value: JSON.parse(text) as unknown };
  } catch (error) {
    throw new BackupSdkError('E_MALFORMED_JSON', `The request body is not valid JSON: ${(error as Error).message}`);
  }
}

async function readBodyTextChecked(request: Request, maxBytes: number, contentType: string | null): Promise<string> {
  if (contentType !== null && !isJson(contentType)) {
    await request.body?.cancel().catch(() => undefined);
    throw new BackupSdkError('E_UNSUPPORTED_MEDIA_TYPE', `The request body must be application/json, not ${contentType}`, {
      details: { content_type: contentType },
    });
  }
  const text = await readBodyText(request, maxBytes);
  if (contentType === null && text.trim() !== '') {
    throw new BackupSdkError('E_UNSUPPORTED_MEDIA_TYPE', 'The request body must be sent with Content-Type: application/json', {
      details: { content_type: null },
    });
  }
  return text;
}
