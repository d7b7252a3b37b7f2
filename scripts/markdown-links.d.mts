// Types of scripts/markdown-links.mjs (plain JavaScript so `npm run check:package` runs it with node alone).

/** One link of a Markdown text. */
export interface MarkdownLink {
  target: string;
  line: number;
}

/** A relative link that does not resolve inside the package. */
export interface BrokenLink {
  file: string;
  line: number;
  target: string;
  problem: string;
}

/** The link targets of a Markdown text (inline links, images, reference definitions), code excluded. */
export function markdownLinks(markdown: string): MarkdownLink[];

/** The anchors of a Markdown file's headings as GitHub makes them, plus explicit `<a id>` anchors. */
export function headingAnchors(markdown: string): Set<string>;

/** Every relative link of the Markdown files in `files` (package path -> text) that does not resolve inside `files`. */
export function brokenLinks(files: ReadonlyMap<string, string | null>): BrokenLink[];
