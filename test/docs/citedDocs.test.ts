/**
 * Comments cite the project's docs by path ("docs/SIZING.md section 3"); a cited Markdown file that
 * is not in the repository (renamed, never written, or background reading kept elsewhere) leaves
 * the reader with nothing. Paths resolve from the repository root or from the citing file's folder.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');
const SCANNED = ['lib', 'functions', 'bench', 'stack', '.ci'];
const SLASH_COMMENTED = new Set(['.ts', '.js', '.cjs', '.mjs']);

/** The comments of a source file: block and line comments, or `#` lines in shell scripts. */
function commentsOf(path: string, text: string): string[] {
  const ext = extname(path);
  if (SLASH_COMMENTED.has(ext)) {
    return [...text.matchAll(/\/\*[\s\S]*?\*\/|(?<![:"'`])\/\/.*$/gm)].map((m) => m[0]);
  }
  if (ext === '.sh' || (ext === '' && text.startsWith('#!'))) {
    return [...text.matchAll(/(?:^|\s)#(?!!).*$/gm)].map((m) => m[0]);
  }
  return [];
}

/** Markdown paths a comment cites, e.g. `docs/SIZING.md`, `README.md`. */
function citedMarkdown(comment: string): string[] {
  return [...comment.matchAll(/(?<![\w./-])((?:\.{1,2}\/)?[\w.-]+(?:\/[\w.-]+)*\.md)\b/g)].map((m) => m[1]!);
}

function exists(citing: string, cited: string): boolean {
  return [resolve(root, cited), resolve(dirname(citing), cited)].some(
    (p) => !relative(root, p).startsWith('..') && existsSync(p),
  );
}

function citations(): { file: string; cited: string }[] {
  const found: { file: string; cited: string }[] = [];
  for (const folder of SCANNED) {
    for (const entry of readdirSync(join(root, folder), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      for (const comment of commentsOf(path, readFileSync(path, 'utf8'))) {
        for (const cited of citedMarkdown(comment)) found.push({ file: path, cited });
      }
    }
  }
  return found;
}

test('every Markdown file cited in a comment of lib, functions, bench, stack and .ci exists', () => {
  const all = citations();
  // The scan must see the citations it guards, or it would pass on nothing.
  expect(all.map((c) => c.cited)).toEqual(expect.arrayContaining(['docs/SIZING.md', 'docs/TESTING.md']));
  const dangling = all
    .filter((c) => !exists(c.file, c.cited))
    .map((c) => `${relative(root, c.file)} cites ${c.cited}`);
  expect(dangling).toEqual([]);
});

/**
 * Headings a comment cites with a file: `docs/SIZING.md section 6`, `bench/RESULTS.md, "Issue 14:
 * ..."` (a quoted heading may be cut short: it must begin one). Comment markers at line starts are
 * dropped first, so a heading quoted across lines reads whole.
 */
function citedHeadings(comment: string): { cited: string; section?: string; heading?: string }[] {
  const text = comment.replace(/^\s*(?:\/\*+|\*\/|\*|\/\/|#)/gm, ' ').replace(/\s+/g, ' ');
  return [
    ...text.matchAll(
      /(?<![\w./-])((?:\.{1,2}\/)?[\w.-]+(?:\/[\w.-]+)*\.md)[)`]?,? (?:section (\d+)|"([^"]+)")/g,
    ),
  ].map((m) => ({ cited: m[1]!, ...(m[2] ? { section: m[2] } : {}), ...(m[3] ? { heading: m[3] } : {}) }));
}

function headingsOf(citing: string, cited: string): string[] | undefined {
  const path = [resolve(root, cited), resolve(dirname(citing), cited)].find(
    (p) => !relative(root, p).startsWith('..') && existsSync(p),
  );
  if (!path) return undefined;
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('#'))
    .map((l) => l.replace(/^#+\s*/, '').trim());
}

/** The citations of `text` (in `file`) whose heading is not there; a file that is not there is the test above's. */
function missingHeadings(file: string, text: string): { seen: number; missing: string[] } {
  let seen = 0;
  const missing: string[] = [];
  for (const c of citedHeadings(text)) {
    const headings = headingsOf(file, c.cited);
    if (!headings) continue;
    seen++;
    const found = c.section
      ? headings.some((h) => new RegExp(`^${c.section}[.\\s]`).test(h))
      : headings.some((h) => h.startsWith(c.heading!.replace(/[.,]$/, '')));
    if (!found)
      missing.push(
        `${relative(root, file)} cites ${c.cited} ${c.section ? `section ${c.section}` : `"${c.heading}"`}`,
      );
  }
  return { seen, missing };
}

test('every heading cited with its Markdown file, in a comment of lib, functions, bench, stack, .ci and test or in the docs, exists', () => {
  const results: { seen: number; missing: string[] }[] = [];
  for (const folder of [...SCANNED, 'test']) {
    for (const entry of readdirSync(join(root, folder), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      if (path === import.meta.filename) continue; // its examples are not citations
      for (const comment of commentsOf(path, readFileSync(path, 'utf8')))
        results.push(missingHeadings(path, comment));
    }
  }
  // The docs cite each other's headings the same way, in their text.
  const docs = ['README.md', ...readdirSync(join(root, 'docs')).map((f) => join('docs', f))];
  for (const doc of docs.filter((d) => d.endsWith('.md')).map((d) => join(root, d))) {
    results.push(missingHeadings(doc, readFileSync(doc, 'utf8')));
  }
  // The scan must see the citations it guards, or it would pass on nothing.
  expect(results.reduce((n, r) => n + r.seen, 0)).toBeGreaterThan(20);
  expect(results.flatMap((r) => r.missing)).toEqual([]);
});

test('reads a heading cited across comment lines', () => {
  expect(citedHeadings('/* see docs/SIZING.md, "A miss\n * budget" and README.md section 2 */')).toEqual([
    { cited: 'docs/SIZING.md', heading: 'A miss budget' },
    { cited: 'README.md', section: '2' },
  ]);
});

test('finds citations in comments only, and judges paths inside the repository', () => {
  expect(commentsOf('a.ts', "const x = 'a.md'; // see docs/A.md\n/* and\n * B.md */")).toEqual([
    '// see docs/A.md',
    '/* and\n * B.md */',
  ]);
  expect(commentsOf('run', '#!/bin/sh\n# see ../shared/docs/T.md\necho x.md')).toEqual([
    '\n# see ../shared/docs/T.md',
  ]);
  expect(citedMarkdown('(docs/SIZING.md section 2), ALGORITHM.md and ../x/T.md')).toEqual([
    'docs/SIZING.md',
    'ALGORITHM.md',
    '../x/T.md',
  ]);
  expect(exists(join(root, 'lib', 'x.ts'), 'docs/SIZING.md')).toBe(true);
  expect(exists(join(root, 'lib', 'x.ts'), 'ALGORITHM.md')).toBe(false);
  // ../shared resolves beside the checkout on some machines: outside the repository, it does not count
  expect(exists(join(root, 'x.ts'), '../shared/docs/TESTING.md')).toBe(false);
});
