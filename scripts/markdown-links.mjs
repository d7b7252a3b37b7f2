// Relative links in the Markdown a user gets with the package: each must name a file inside the
// package (and, with a #fragment into a Markdown file, one of its headings), since a user of the
// tarball has nothing else. Used by `npm run check:package` on the packed tarball and by
// test/unit/foundation/package-links.test.ts on `npm pack --dry-run`'s file list.
import { posix } from 'node:path';

const blank = (text) => text.replace(/[^\n]/g, ' ');

/** Fenced code blocks hold text, not Markdown: blanked (line numbers kept). */
const withoutFences = (markdown) => markdown.replace(/^ {0,3}(```|~~~)[^\n]*\n[\s\S]*?^ {0,3}\1[^\n]*$/gm, blank);

/** Fenced blocks and inline code spans hold text, not links: blanked before links are read. */
const withoutCode = (markdown) => withoutFences(markdown).replace(/(`+)[\s\S]*?\1/g, blank);

/** True for a link that leaves the package: a scheme (`https:`, `mailto:`) or a protocol-relative `//host`. */
const isExternal = (target) => /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//');

/**
 * The link targets of a Markdown text, in order, with their line numbers: inline links and
 * images `[text](target "title")` / `(<target>)`, and reference definitions `[name]: target`.
 * Links inside code are not links.
 */
export function markdownLinks(markdown) {
  const text = withoutCode(markdown);
  const links = [];
  const lineOf = (index) => text.slice(0, index).split('\n').length;
  for (const m of text.matchAll(/\]\(\s*(<[^>\n]*>|[^\s)]+)(?:\s+("[^"]*"|'[^']*'|\([^)]*\)))?\s*\)/g)) {
    links.push({ target: m[1].replace(/^<|>$/g, ''), line: lineOf(m.index) });
  }
  for (const m of text.matchAll(/^ {0,3}\[[^\]\n]+\]:\s*(<[^>\n]*>|\S+)/gm)) {
    links.push({ target: m[1].replace(/^<|>$/g, ''), line: lineOf(m.index) });
  }
  return links.sort((a, b) => a.line - b.line);
}

/**
 * The anchors of a Markdown file's headings as GitHub makes them (lower case, punctuation
 * dropped, each space a `-`, `-1`, `-2`... for repeats), plus explicit `<a id|name="...">` anchors.
 */
export function headingAnchors(markdown) {
  const anchors = new Set();
  const seen = new Map();
  const text = withoutFences(markdown);
  for (const m of text.matchAll(/^ {0,3}#{1,6}[ \t]+(.*?)[ \t#]*$/gm)) {
    const base = m[1]
      .replace(/<[^>]*>/g, '')
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  for (const m of text.matchAll(/<a\s[^>]*\b(?:id|name)="([^"]+)"/g)) anchors.add(m[1]);
  return anchors;
}

/**
 * Every relative link of the Markdown files in `files` that does not resolve inside `files`.
 * `files` maps package paths (`README.md`, `docs/restore.md`, `dist/index.js`) to their text
 * (only the Markdown files' text is read; other values may be null). A link to a folder counts
 * when some file lies inside it. Returns `{ file, line, target, problem }` per broken link.
 */
export function brokenLinks(files) {
  const paths = new Set(files.keys());
  const folders = new Set(
    [...paths].flatMap((p) =>
      p
        .split('/')
        .slice(0, -1)
        .map((_, i, parts) => parts.slice(0, i + 1).join('/')),
    ),
  );
  const anchorsOf = new Map();
  const broken = [];
  for (const [file, text] of files) {
    if (!file.endsWith('.md')) continue;
    for (const { target, line } of markdownLinks(text ?? '')) {
      if (isExternal(target)) continue;
      const [pathPart, fragment = ''] = target.split('#', 2);
      const relative = decodeURIComponent(pathPart.split('?')[0]);
      const resolved = relative === '' ? file : posix.normalize(posix.join(posix.dirname(file), relative)).replace(/\/$/, '');
      if (resolved.startsWith('../') || resolved === '..' || posix.isAbsolute(relative)) {
        broken.push({ file, line, target, problem: 'leaves the package' });
      } else if (!paths.has(resolved) && !folders.has(resolved)) {
        broken.push({ file, line, target, problem: `${resolved} is not in the package` });
      } else if (fragment && resolved.endsWith('.md')) {
        if (!anchorsOf.has(resolved)) anchorsOf.set(resolved, headingAnchors(files.get(resolved) ?? ''));
        if (!anchorsOf.get(resolved).has(decodeURIComponent(fragment)))
          broken.push({ file, line, target, problem: `${resolved} has no heading #${fragment}` });
      }
    }
  }
  return broken;
}
