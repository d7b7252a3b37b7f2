// Every ```ts block of README.md and docs/*.md, and every file under examples/, compiles against
// the package's entry points ('odoo-backup-sdk', 'odoo-backup-sdk/testing'...), which tsconfig.json
// maps to src/ (so no build is needed). One TypeScript program checks them all: each block is a
// module of its own, held in memory beside its page; an error is reported at its page and line.
//
// A block stands alone: it brings its imports, and declares what it assumes
// (`declare const sdk: BackupSdk;`). Two exceptions:
// - blocks that show parts of an example file (first line `// examples/FILE: part`) are compiled
//   together, in page order, as the parts sit in that file;
// - at most MAX_FRAGMENTS blocks marked ```ts fragment (a shape, or code that shows a compile
//   error on purpose) are not compiled.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const MAX_FRAGMENTS = 5;

interface Block {
  page: string;
  /** 1-based line of the block's first code line in its page. */
  line: number;
  info: string;
  code: string;
}

/** The fenced ```ts blocks of a Markdown page, with their info string (`ts`, `ts fragment`). */
function tsBlocks(page: string, text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(ts(?:\s.*)?)$/.exec(lines[i]!);
    if (!open) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    blocks.push({ page, line: start + 1, info: open[1]!.trim(), code: lines.slice(start, end).join('\n') });
    i = end;
  }
  return blocks;
}

/** One in-memory module: its text, and where each of its lines comes from. */
interface Unit {
  path: string;
  text: string;
  /** For each line of `text`: page and 1-based line. */
  origin: { page: string; line: number }[];
}

function pages(): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

/** The compilation units of every page's blocks (fragments left out). */
function docUnits(blocks: Block[]): Unit[] {
  const units = new Map<string, Unit>();
  for (const block of blocks) {
    if (block.info !== 'ts') continue;
    const part = /^\/\/ (examples\/\S+): \S+$/.exec(block.code.split('\n')[0]!);
    const key = part ? `${block.page}:${part[1]}` : `${block.page}:${block.line}`;
    // Beside its page, so the page's folder and the package's package.json ("type": "module") apply.
    const path = join(root, `${block.page}.${part ? part[1]!.replace(/\W/g, '_') : `L${block.line}`}.ts`);
    const unit = units.get(key) ?? { path, text: '', origin: [] };
    const lines = block.code.split('\n');
    unit.text += (unit.text ? '\n' : '') + block.code;
    unit.origin.push(...lines.map((_, i) => ({ page: block.page, line: block.line + i })));
    units.set(key, unit);
  }
  return [...units.values()];
}

function exampleFiles(dir = join(root, 'examples')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? exampleFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

function compilerOptions(): ts.CompilerOptions {
  const file = join(root, 'tsconfig.json');
  const config = ts.readConfigFile(file, (f) => ts.sys.readFile(f));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root, undefined, file);
  return {
    ...parsed.options,
    noEmit: true,
    declaration: false,
    declarationMap: false,
    sourceMap: false,
    // A block without import or export is still a module: its names stay its own.
    moduleDetection: ts.ModuleDetectionKind.Force,
  };
}

/** Type-checks the examples and the units in one program; returns each error as `page:line: message`. */
function typecheck(units: Unit[], files: string[]): string[] {
  const options = compilerOptions();
  const host = ts.createCompilerHost(options);
  const byPath = new Map(units.map((u) => [u.path, u]));
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (f) => byPath.has(f) || fileExists.call(host, f);
  host.readFile = (f) => byPath.get(f)?.text ?? readFile.call(host, f);
  host.getSourceFile = (f, lang, ...rest) => {
    const unit = byPath.get(f);
    return unit ? ts.createSourceFile(f, unit.text, lang, true) : getSourceFile.call(host, f, lang, ...rest);
  };
  const program = ts.createProgram({ rootNames: [...files, ...byPath.keys()], options, host });
  const diagnostics = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
  for (const f of [...files, ...byPath.keys()]) {
    const source = program.getSourceFile(f);
    if (!source) throw new Error(`${f} is not in the program`);
    diagnostics.push(...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source));
  }
  return diagnostics.map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || d.start === undefined) return message;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    const origin = byPath.get(d.file.fileName)?.origin[line];
    const where = origin ? `${origin.page}:${origin.line}` : `${relative(root, d.file.fileName)}:${line + 1}`;
    return `${where}: ${message}`;
  });
}

let blocks: Block[];
let errors: string[];
beforeAll(() => {
  blocks = pages().flatMap((page) => tsBlocks(page, readFileSync(join(root, page), 'utf8')));
  errors = typecheck(docUnits(blocks), exampleFiles());
}, 120_000);

describe('code in the docs and examples', () => {
  it('tsconfig.json maps each entry point of package.json to its source file', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, { types?: string }> };
    const expected = Object.fromEntries(
      Object.entries(pkg.exports)
        .filter(([, target]) => typeof target === 'object' && target.types)
        .map(([subpath, target]) => [
          subpath.replace(/^\./, 'odoo-backup-sdk'),
          [target.types!.replace(/^\.\/dist\//, './src/').replace(/\.d\.ts$/, '.ts')],
        ]),
    );
    expect(compilerOptions().paths).toEqual(expected);
  });

  it('every ```ts block of README.md and docs/*.md compiles', () => {
    expect(blocks.length).toBeGreaterThan(25);
    expect(errors.filter((e) => /^(README|docs\/)/.test(e))).toEqual([]);
  });

  it(`at most ${MAX_FRAGMENTS} blocks are marked as fragments (not compiled), and no other info string hides one`, () => {
    const fragments = blocks.filter((b) => b.info === 'ts fragment').map((b) => `${b.page}:${b.line}`);
    expect(fragments.length, fragments.join('\n')).toBeLessThanOrEqual(MAX_FRAGMENTS);
    expect(blocks.filter((b) => b.info !== 'ts' && b.info !== 'ts fragment').map((b) => `${b.page}:${b.line} ${b.info}`)).toEqual([]);
  });

  it('every file under examples/ compiles', () => {
    expect(errors.filter((e) => !/^(README|docs\/)/.test(e))).toEqual([]);
  });
});
