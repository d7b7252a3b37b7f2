import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The README's wiring example is examples/quickstart.ts (type-checked with the project by
// `npm run typecheck`), shown with the package's own import names.
const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');

function readmeExample(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const match = /```ts\n(\/\/ wiring example\n[\s\S]*?)```/.exec(readme);
  if (!match) throw new Error('README.md has no ```ts block starting with "// wiring example"');
  return match[1]!.replace('// wiring example\n', '');
}

function quickstartAsPublished(): string {
  const source = readFileSync(join(root, 'examples/quickstart.ts'), 'utf8');
  const body = /\/\/ readme:start\n([\s\S]*?)\/\/ readme:end\n/.exec(source)![1]!;
  return body
    .replace("'../src/index.js'", "'odoo-backup-sdk'")
    .replace("'../src/integrations/postgres/index.js'", "'odoo-backup-sdk/postgres'")
    .replace("'../src/integrations/bullmq/index.js'", "'odoo-backup-sdk/bullmq'");
}

describe('README wiring example', () => {
  it('is examples/quickstart.ts with the package import names', () => {
    expect(readmeExample()).toBe(quickstartAsPublished());
  });

  it('imports only the published entry points', () => {
    const imports = [...readmeExample().matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    expect(imports).toEqual(['node:fs/promises', 'pg', 'odoo-backup-sdk', 'odoo-backup-sdk/postgres', 'odoo-backup-sdk/bullmq']);
  });
});
