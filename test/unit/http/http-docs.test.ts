import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HTTP_STATUS_BY_CODE } from '../../../src/integrations/http/index.js';
import { BACKUP_API_ROUTES } from '../../../src/integrations/http/routes.js';

// docs/http.md states every route and every status; these keep it equal to the code, both ways.

const doc = readFileSync(join(import.meta.dirname, '../../../docs/http.md'), 'utf8');
const rows = (pattern: RegExp) => [...doc.matchAll(pattern)].map((m) => m.slice(1));

describe('docs/http.md', () => {
  it('lists every route of the handler, and no other', () => {
    const documented = rows(/^\| `(GET|POST|PATCH|DELETE|PUT)` +\| `([^`]+)` +\|/gm).map(([m, p]) => `${m} ${p}`);
    expect(documented.sort()).toEqual(BACKUP_API_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('gives every error code the status of HTTP_STATUS_BY_CODE', () => {
    const documented = Object.fromEntries(rows(/^\| `(E_[A-Z0-9_]+)` +\| (\d{3}) +\|/gm).map(([code, status]) => [code, Number(status)]));
    expect(documented).toEqual({ ...HTTP_STATUS_BY_CODE });
  });
});
