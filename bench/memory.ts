/**
 * Section 4 — memory: peak RSS of a fresh process running one hourly_usage fetch invocation (500-record
 * pages, every product family the simulator models, many orgs), and at 10× the records per window.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { DEFAULT_OPTIONS } from '../lambdas/categories.ts';
import { dayWindows, hourlyRecords, log, NO_LIMIT, NOW, startBenchHarness } from './common.ts';
import type { MemoryChildConfig, MemoryChildResult } from './memory-child.ts';

export interface MemoryConfig {
  /** Org counts: the base case and the 10× case. */
  orgs: [number, number];
  day: string;
}

export interface MemoryRow {
  case: string;
  orgs: number;
  recordsPerWindow: number;
  pages: number;
  maxRssMB: number;
  heapUsedMB: number;
  /** Peak RSS of the process's own memory map (Linux /proc/self/status VmHWM), a cross-check. */
  vmHwmMB: number | null;
  durationMs: number;
}

export interface MemoryResult {
  runner: string;
  baselineMaxRssMB: number;
  rows: MemoryRow[];
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Bundles the child like infra/constructs/lake-function.ts bundles a Lambda (ESM, minified, SDK external). */
async function bundleChild(): Promise<string> {
  const outdir = path.join(ROOT, '.tmp', 'bench');
  mkdirSync(outdir, { recursive: true });
  const outfile = path.join(outdir, 'memory-child.mjs');
  await build({
    entryPoints: [path.join(ROOT, 'bench', 'memory-child.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    external: ['@aws-sdk/*'],
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    logLevel: 'error',
  });
  return outfile;
}

/**
 * On Linux, getrusage's maxrss survives execve: a child spawned straight from this (large) process would
 * report at least this process's RSS at fork time. A shell in between that forks node (no `exec`) gives
 * node a fresh thread group, so its maxRSS is its own; VmHWM from /proc cross-checks it.
 */
function runChild(file: string, config: MemoryChildConfig): Promise<MemoryChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', '"$0" "$@"; exit $?', process.execPath, file], {
      env: { ...process.env, BENCH_MEMORY: JSON.stringify(config), NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line) reject(new Error(`memory child exited ${code}: ${out}`));
      else resolve(JSON.parse(line) as MemoryChildResult);
    });
  });
}

export async function runMemory(config: MemoryConfig): Promise<MemoryResult> {
  const file = await bundleChild();
  const [w] = dayWindows(config.day, 1);
  if (!w) throw new Error('no window');
  const rows: MemoryRow[] = [];
  let baseline = 0;
  for (const [i, orgs] of config.orgs.entries()) {
    const env = await startBenchHarness({ orgs, rateLimit: NO_LIMIT });
    try {
      const base: Omit<MemoryChildConfig, 'mode'> = {
        simUrl: env.sim.url,
        s3Endpoint: env.s3.endpoint,
        bucket: env.s3.bucket,
        windowStart: w.start,
        now: NOW.toISOString(),
      };
      if (i === 0) baseline = (await runChild(file, { ...base, mode: 'baseline' })).maxRssMB;
      const records = hourlyRecords(env.sim, w, DEFAULT_OPTIONS);
      const before = env.sim.requests.length;
      const r = await runChild(file, { ...base, mode: 'invoke' });
      if (r.records !== records) throw new Error(`memory: landed ${r.records} of ${records} records`);
      const pages = env.sim.requests.length - before;
      rows.push({
        case:
          i === 0
            ? '500-record pages'
            : `${Math.round(records / (rows[0]?.recordsPerWindow ?? records))}× records per window`,
        orgs,
        recordsPerWindow: records,
        pages: r.pages,
        maxRssMB: r.maxRssMB,
        heapUsedMB: r.heapUsedMB,
        vmHwmMB: r.vmHwmMB,
        durationMs: r.durationMs,
      });
      if (pages !== r.pages) throw new Error(`memory: ${pages} requests for ${r.pages} pages`);
      log(`  memory: ${orgs} orgs, ${records} records in ${r.pages} pages: peak RSS ${r.maxRssMB} MB`);
    } finally {
      await env.close();
    }
  }
  return { runner: 'esbuild bundle (as deployed), plain node', baselineMaxRssMB: baseline, rows };
}
