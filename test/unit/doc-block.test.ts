import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DocBlockError, replaceDocBlock, writeDocBlock } from '../../bench/doc-block.ts';

const DOC = `# Performance

Prose before.

<!-- begin generated: bench -->
| old | table |
<!-- end generated: bench -->

Prose between.

<!-- begin generated: bundle -->
bundle figures
<!-- end generated: bundle -->

Prose after.
`;

describe('Function: replaceDocBlock', () => {
  it('replaces the text between the markers and nothing else', () => {
    // Act
    const out = replaceDocBlock(DOC, 'bench', '| new | table |\n| --- | --- |\n');

    // Assess
    expect(out).toBe(
      DOC.replace(
        '<!-- begin generated: bench -->\n| old | table |\n',
        '<!-- begin generated: bench -->\n\n| new | table |\n| --- | --- |\n\n',
      ),
    );
    expect(out).toContain('<!-- begin generated: bundle -->\nbundle figures\n<!-- end generated: bundle -->');
    expect(out.startsWith('# Performance\n\nProse before.\n\n')).toBe(true);
    expect(out.endsWith('Prose after.\n')).toBe(true);
  });

  it('gives the same text when run again with the same Markdown', () => {
    // Prepare
    const once = replaceDocBlock(DOC, 'bench', 'figures');

    // Act
    const twice = replaceDocBlock(once, 'bench', 'figures');

    // Assess
    expect(twice).toBe(once);
    expect(once).toContain('<!-- begin generated: bench -->\n\nfigures\n\n<!-- end generated: bench -->');
  });

  it.each([
    ['the begin marker is missing', DOC.replace('<!-- begin generated: bench -->', ''), /has no <!-- begin/],
    ['the end marker is missing', DOC.replace('<!-- end generated: bench -->', ''), /has no <!-- end/],
    [
      'the begin marker is there twice',
      `${DOC}\n<!-- begin generated: bench -->\n`,
      /2 copies of <!-- begin generated: bench -->/,
    ],
    [
      'the end marker is there twice',
      `${DOC}\n<!-- end generated: bench -->\n`,
      /2 copies of <!-- end generated: bench -->/,
    ],
    [
      'the end marker comes first',
      'x\n<!-- end generated: bench -->\ny\n<!-- begin generated: bench -->\n',
      /before <!-- begin/,
    ],
  ])('throws a DocBlockError when %s', (_case, text, message) => {
    // Act / Assess
    expect(() => replaceDocBlock(text, 'bench', 'figures')).toThrow(DocBlockError);
    expect(() => replaceDocBlock(text, 'bench', 'figures')).toThrow(message);
  });

  it('refuses a name that could close the comment, and Markdown that holds a marker', () => {
    // Act / Assess
    expect(() => replaceDocBlock(DOC, 'bench -->', 'x')).toThrow(DocBlockError);
    expect(() => replaceDocBlock(DOC, 'bench', 'a\n<!-- end generated: bundle -->\n')).toThrow(
      /holds a generated-block marker/,
    );
  });
});

describe('Function: writeDocBlock', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'doc-block-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('rewrites the block in the file and leaves no temporary file behind', () => {
    // Prepare
    const file = path.join(dir, 'performance.md');
    writeFileSync(file, DOC);

    // Act
    writeDocBlock(file, 'bundle', '| handler | bundle |\n| --- | --- |\n| plan | 1 kB |');

    // Assess
    expect(readFileSync(file, 'utf8')).toBe(
      replaceDocBlock(DOC, 'bundle', '| handler | bundle |\n| --- | --- |\n| plan | 1 kB |'),
    );
    expect(readdirSync(dir)).toEqual(['performance.md']);
  });

  it('leaves the file as it was when the block is not in it', () => {
    // Prepare
    const file = path.join(dir, 'reliability.md');
    writeFileSync(file, DOC);

    // Act / Assess
    expect(() => writeDocBlock(file, 'faults', 'table')).toThrow(DocBlockError);
    expect(readFileSync(file, 'utf8')).toBe(DOC);
    expect(readdirSync(dir)).toEqual(['reliability.md']);
  });
});
