// A user of the package has only what the tarball holds: every relative link in its Markdown
// must land on a file (and heading) inside it. The file list is `npm pack --dry-run`'s, so a page
// or example dropped from package.json `files` fails here; `npm run check:package` runs the same
// check on the packed tarball itself.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { brokenLinks, headingAnchors, markdownLinks } from '../../../scripts/markdown-links.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const run = promisify(execFile);

/** The paths `npm pack` would put in the tarball (without building: dist/ need not exist here). */
async function packedPaths(): Promise<string[]> {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
  const [report] = JSON.parse(stdout) as [{ files: { path: string }[] }];
  return report.files.map((f) => f.path);
}

describe('the Markdown shipped in the package', () => {
  let paths: string[] = [];
  beforeAll(async () => {
    paths = await packedPaths();
  }, 60_000);

  it('includes the README, every docs page (not the generated API reference) and the examples the docs cite', () => {
    expect(paths).toEqual(
      expect.arrayContaining(['README.md', 'CHANGELOG.md', 'docs/sources.md', 'docs/restore.md', 'examples/restore.ts']),
    );
    expect(paths.filter((p) => p.startsWith('docs/api/'))).toEqual([]);
    expect(paths.filter((p) => p.startsWith('src/') || p.startsWith('test/'))).toEqual([]);
  });

  it('links only to files and headings inside the package', () => {
    const files = new Map(paths.map((p) => [p, p.endsWith('.md') ? readFileSync(join(root, p), 'utf8') : null]));
    expect(brokenLinks(files)).toEqual([]);
    // The check looked at real links, not at nothing.
    expect(markdownLinks(files.get('README.md')!).length).toBeGreaterThan(10);
  });
});

describe('brokenLinks', () => {
  const page = (text: string) =>
    new Map<string, string | null>([
      ['README.md', text],
      ['docs/restore.md', '# Restores\n\n## The request\n\n## The request\n\n### Privileges `CREATEDB` needed\n'],
      ['examples/restore.ts', null],
    ]);

  it('accepts links to packed files, folders, headings (repeats numbered) and outside addresses', () => {
    const text = [
      '[a](docs/restore.md) [b](docs/restore.md#the-request) [c](docs/restore.md#the-request-1)',
      '[d](./examples/restore.ts "title") [e](examples/) [f](<docs/restore.md#privileges-createdb-needed>)',
      '[g](https://example.com/x.md) [h](mailto:x@example.com) [i](#own) ![j](docs/restore.md)',
      '# Own',
    ].join('\n');
    expect(brokenLinks(page(text))).toEqual([]);
  });

  it('names each link to a file, folder or heading the package lacks, with its line', () => {
    const text = [
      '[src](src/index.ts)',
      'text [ex](../examples/restore.ts)',
      '[h](docs/restore.md#nope)',
      '',
      '[ref]: bench/results/x.json',
    ].join('\n');
    expect(brokenLinks(page(text))).toEqual([
      { file: 'README.md', line: 1, target: 'src/index.ts', problem: 'src/index.ts is not in the package' },
      { file: 'README.md', line: 2, target: '../examples/restore.ts', problem: 'leaves the package' },
      { file: 'README.md', line: 3, target: 'docs/restore.md#nope', problem: 'docs/restore.md has no heading #nope' },
      { file: 'README.md', line: 5, target: 'bench/results/x.json', problem: 'bench/results/x.json is not in the package' },
    ]);
  });

  it('reads links in docs pages relative to their folder, and ignores code', () => {
    const files = page('');
    files.set(
      'docs/x.md',
      '[ok](../examples/restore.ts) [ok](restore.md)\n\n```md\n[no](missing.md)\n```\n`[no](missing.md)`\n[bad](../src/a.ts)',
    );
    expect(brokenLinks(files)).toEqual([{ file: 'docs/x.md', line: 7, target: '../src/a.ts', problem: 'src/a.ts is not in the package' }]);
  });

  it('makes GitHub heading anchors', () => {
    expect([...headingAnchors('## Storage configs: the `org.storage.manage` permission (our addition)\n# A/B & C')]).toEqual([
      'storage-configs-the-orgstoragemanage-permission-our-addition',
      'ab--c',
    ]);
  });
});
