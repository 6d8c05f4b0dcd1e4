/**
 * Figures in the docs come from the commands that measure them: each command rewrites its own block
 * of a Markdown file, the text between `<!-- begin generated: NAME -->` and
 * `<!-- end generated: NAME -->`, and leaves the prose around it alone. `npm run bench` writes block
 * `bench` and `bench/bundle.ts` block `bundle` of docs/performance.md; `npm run faults-report --
 * --write` writes block `faults` and `npm run capacity -- --write` block `capacity` of
 * docs/reliability.md.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

/** A block's markers are missing, duplicated or out of order, or the name or text would break them. */
export class DocBlockError extends Error {
  override name = 'DocBlockError';
}

/** Block names: lower-case letters, digits and `-`, so a name can never close the HTML comment. */
const BLOCK_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;
const ANY_MARKER = /<!-- (?:begin|end) generated:/;

export const beginMarker = (name: string): string => `<!-- begin generated: ${name} -->`;
export const endMarker = (name: string): string => `<!-- end generated: ${name} -->`;

function occurrences(text: string, marker: string): number {
  return text.split(marker).length - 1;
}

/**
 * `text` with block `name` holding `markdown` (trimmed, a blank line on each side so the Markdown
 * renders as it would on its own). Pure; `where` names the file in errors.
 */
export function replaceDocBlock(text: string, name: string, markdown: string, where = 'the text'): string {
  if (!BLOCK_NAME.test(name)) {
    throw new DocBlockError(
      `block name ${JSON.stringify(name)}: expected lower-case letters, digits and "-"`,
    );
  }
  if (ANY_MARKER.test(markdown)) {
    throw new DocBlockError(`the Markdown for block ${name} holds a generated-block marker itself`);
  }
  const begin = beginMarker(name);
  const end = endMarker(name);
  for (const marker of [begin, end]) {
    const n = occurrences(text, marker);
    if (n === 0) throw new DocBlockError(`${where} has no ${marker}`);
    if (n > 1) throw new DocBlockError(`${where} has ${n} copies of ${marker}; expected one`);
  }
  const from = text.indexOf(begin) + begin.length;
  const to = text.indexOf(end);
  if (to < from) throw new DocBlockError(`${where} has ${end} before ${begin}`);
  return `${text.slice(0, from)}\n\n${markdown.trim()}\n\n${text.slice(to)}`;
}

/**
 * Replaces block `name` of the Markdown file `file` with `markdown`. The file is written whole to a
 * temporary file beside it, then renamed over it, so a reader (or a crash) never sees half of it.
 * Throws a DocBlockError, changing nothing, when the block's markers are missing or duplicated.
 */
export function writeDocBlock(file: string, name: string, markdown: string): void {
  const before = readFileSync(file, 'utf8');
  const after = replaceDocBlock(before, name, markdown, file);
  if (after === before) return;
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, after);
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}
