/**
 * The largest parent supported, with its bounds computed from the definitions `cdk.json` deploys
 * (infra/capacity.ts); with `--write` also into docs/reliability.md (block `capacity`):
 *
 *   npm run capacity [-- --write]
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { capacity, capacityMarkdown, LARGEST_PARENT } from '../infra/capacity.ts';
import { parseSettings } from '../infra/config.ts';
import { definitionsFromTemplate, synthesizeStack } from '../infra/definition.ts';
import { writeDocBlock } from './doc-block.ts';

/** The page whose `capacity` block holds the table. */
export const CAPACITY_DOCS_FILE = path.resolve(import.meta.dirname, '..', 'docs', 'reliability.md');

/** The Markdown of the largest parent under the default settings' definitions. */
export function largestParentMarkdown(): string {
  const settings = parseSettings({});
  const synthesized = synthesizeStack(settings);
  const definitions = definitionsFromTemplate(synthesized.template);
  const figures = capacity(LARGEST_PARENT, {
    ...definitions,
    budgets: synthesized.stack.pipeline.budgets,
    mapConcurrency: settings.mapConcurrency,
  });
  return `Computed by \`npm run capacity\` from the synthesized definitions:\n\n${capacityMarkdown(LARGEST_PARENT, figures)}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const markdown = largestParentMarkdown();
  console.log(markdown);
  if (process.argv.includes('--write')) {
    writeDocBlock(CAPACITY_DOCS_FILE, 'capacity', markdown);
    console.error(
      `wrote this table into ${path.relative(process.cwd(), CAPACITY_DOCS_FILE)} (block capacity)`,
    );
  }
}
