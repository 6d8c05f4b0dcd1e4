/**
 * Bundle size and cold-start module init of the deployed handlers: each entry bundled exactly as
 * infra/constructs/lake-function.ts bundles it (esbuild, ESM, node22, minified, source map, @aws-sdk
 * external, the createRequire banner), then imported by plain `node` in fresh processes; init is the
 * median wall time of `await import(bundle)` (the module's own top-level work included).
 *
 * `node --import tsx bench/bundle.ts [--runs N] [--no-docs]`: prints a Markdown table and writes the
 * same Markdown into docs/performance.md (block `bundle`), unless `--no-docs` is given.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { replaceDocBlock, writeDocBlock } from './doc-block.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ENTRIES = ['hourly_usage', 'plan', 'summarize'];
const runsFlag = process.argv.indexOf('--runs');
const RUNS = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 15;

export interface BundleRow {
  entry: string;
  bundleKB: number;
  sourceMapKB: number;
  initMsMedian: number;
  initMsMin: number;
}

async function bundle(entry: string): Promise<string> {
  const outdir = path.join(ROOT, '.tmp', 'bundle', entry);
  mkdirSync(outdir, { recursive: true });
  const outfile = path.join(outdir, 'index.mjs');
  await build({
    entryPoints: [path.join(ROOT, 'lambdas', entry, 'handler.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    sourcemap: true,
    external: ['@aws-sdk/*'],
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    logLevel: 'error',
  });
  return outfile;
}

/** One fresh process: the time `import()` of the bundle takes, as Lambda's init phase would run it. */
function initMs(file: string): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(file)}); process.stdout.write(String(performance.now() - t));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: {
      PATH: process.env.PATH,
      AWS_REGION: 'us-east-1',
      AWS_LAMBDA_FUNCTION_NAME: 'bench',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      DATA_BUCKET: 'bucket',
      DATA_PREFIX: 'dd',
      DD_ACCOUNTS: JSON.stringify([{ name: 'main', secretName: 's', site: 'datadoghq.com' }]),
    },
  });
  return Number(out.toString());
}

export async function runBundle(runs = RUNS): Promise<BundleRow[]> {
  const rows: BundleRow[] = [];
  for (const entry of ENTRIES) {
    const file = await bundle(entry);
    initMs(file); // warm the file cache
    const times = Array.from({ length: runs }, () => initMs(file)).sort((a, b) => a - b);
    rows.push({
      entry,
      bundleKB: Math.round(statSync(file).size / 102.4) / 10,
      sourceMapKB: Math.round(statSync(`${file}.map`).size / 102.4) / 10,
      initMsMedian: Math.round((times[Math.floor(times.length / 2)] ?? 0) * 10) / 10,
      initMsMin: Math.round((times[0] ?? 0) * 10) / 10,
    });
  }
  return rows;
}

/** The figures as Markdown: what the command ran on, then the table. */
export function bundleMarkdown(rows: readonly BundleRow[], runs: number, at = new Date()): string {
  const cpus = os.cpus();
  return [
    `\`node --import tsx bench/bundle.ts --runs ${runs}\` — Node ${process.version}, ${cpus.length} × ${cpus[0]?.model ?? 'unknown'}, ${at.toISOString().slice(0, 10)}`,
    '',
    `| handler | bundle (minified) | source map | module init, median of ${runs} | min |`,
    '| --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.entry} | ${r.bundleKB} kB | ${r.sourceMapKB} kB | ${r.initMsMedian} ms | ${r.initMsMin} ms |`,
    ),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const docs = process.argv.includes('--no-docs')
    ? undefined
    : fileURLToPath(new URL('../docs/performance.md', import.meta.url));
  // A block that is not there fails now, not after the run.
  if (docs) replaceDocBlock(readFileSync(docs, 'utf8'), 'bundle', '', docs);
  const markdown = bundleMarkdown(await runBundle(), RUNS);
  console.log(markdown);
  if (docs) {
    writeDocBlock(docs, 'bundle', markdown);
    console.error('wrote this table into docs/performance.md (block bundle)');
  }
}
