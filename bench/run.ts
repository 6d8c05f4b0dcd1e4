/**
 * `npm run bench` (full, about 4 minutes) and `npm run bench -- --quick` (every section small, under a
 * minute). Prints Markdown tables and writes the same figures to bench/results.json. A full run also
 * writes the Markdown it prints into docs/performance.md (block `bench`), unless `--no-docs` is given
 * or a section failed; a quick run never does (a smoke run's figures are noisy).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadCdkJsonSettings } from '../infra/config.ts';
import type { CostResult } from './cost-model.ts';
import { replaceDocBlock, writeDocBlock } from './doc-block.ts';
import type { MemoryResult } from './memory.ts';
import { type PerPageResult, runPerPageIsolated } from './per-page.ts';
import type { LongWindowResult, RateLimitResult } from './rate-limit.ts';
import type { RequestsRow } from './requests.ts';

const quick = process.argv.includes('--quick');
const writeDocs = !quick && !process.argv.includes('--no-docs');
const DOCS_FILE = fileURLToPath(new URL('../docs/performance.md', import.meta.url));
// A block that is not there fails now, not after the run.
if (writeDocs) replaceDocBlock(readFileSync(DOCS_FILE, 'utf8'), 'bench', '', DOCS_FILE);
const started = Date.now();
const deployed = loadCdkJsonSettings();
const concurrency = {
  mapConcurrency: deployed.mapConcurrency,
  windowConcurrency: deployed.windowConcurrency,
};

// The sections that run the state machine load aws-cdk-lib, and the first synthesis is the slow one
// (construct code still cold): do both now, while section 1's processes start, and finish before
// section 1 measures anything (this process then only waits).
const modules = (async () => {
  const loaded = await Promise.all([
    import('./requests.ts'),
    import('./rate-limit.ts'),
    import('./memory.ts'),
    import('./cost-model.ts'),
  ]);
  const { localDefinitions } = await import('../local/runner.ts');
  await localDefinitions(deployed);
  return loaded;
})();

const CONFIG = quick
  ? {
      perPage: { orgs: 20, days: 2, firstDay: '2026-10-20', reps: 3, warmups: 2, pseudoSleepMs: 5 },
      // Every value of the full grid once: (1 org, 1 day), (3, 30), (10, 7).
      requests: { days: [1, 30, 7], orgs: [1, 3, 10], lastDay: '2026-10-31', diagonal: true },
      rateLimit: { limit: 10, periodSeconds: 2, orgs: 3, days: 8, pageSize: 100, lastDay: '2026-10-31' },
      longWindow: { limit: 10, periodSeconds: 6, secondMs: 40, orgs: 2, day: '2026-10-20' },
      measureFixedSleep: false,
      serialDiagnostic: false,
      memory: { orgs: [20, 200] as [number, number], day: '2026-10-20' },
      cost: {
        orgs: [1, 51],
        sample: { start: '2026-10-31', end: '2026-11-02' },
        localRunsForFirstOrgsOnly: true,
      },
    }
  : {
      perPage: { orgs: 20, days: 4, firstDay: '2026-10-20', reps: 7, warmups: 1, pseudoSleepMs: 5 },
      requests: { days: [1, 7, 30], orgs: [1, 3, 10], lastDay: '2026-10-31', diagonal: false },
      rateLimit: { limit: 20, periodSeconds: 10, orgs: 3, days: 16, pageSize: 100, lastDay: '2026-10-31' },
      longWindow: { limit: 10, periodSeconds: 6, secondMs: 100, orgs: 5, day: '2026-10-20' },
      measureFixedSleep: true,
      serialDiagnostic: true,
      memory: { orgs: [50, 500] as [number, number], day: '2026-10-20' },
      cost: {
        orgs: [1, 51],
        sample: { start: '2026-10-25', end: '2026-11-02' },
        localRunsForFirstOrgsOnly: false,
      },
    };
const BACKFILL = { start: '2025-09-01', end: '2026-11-26' };

interface Results {
  mode: 'full' | 'quick';
  command: string;
  node: string;
  cpus: number;
  cpuModel: string;
  startedAt: string;
  durationMs: number;
  deployedConcurrency: typeof concurrency;
  perPage?: PerPageResult;
  requests?: RequestsRow[];
  rateLimit?: RateLimitResult;
  rateLimitSerial?: RateLimitResult;
  longWindow?: LongWindowResult;
  memory?: MemoryResult;
  cost?: CostResult;
  targets: Array<{ target: string; figure: string; pass: boolean | null }>;
  errors: Record<string, string>;
}

const results: Results = {
  mode: quick ? 'quick' : 'full',
  command: quick ? 'npm run bench -- --quick' : 'npm run bench',
  node: process.version,
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? 'unknown',
  startedAt: new Date(started).toISOString(),
  durationMs: 0,
  deployedConcurrency: concurrency,
  targets: [],
  errors: {},
};

const say = (line: string) => process.stderr.write(`${line}\n`);

async function section<T>(name: string, run: () => Promise<T>): Promise<T | undefined> {
  const t = Date.now();
  say(`[bench] ${name}…`);
  try {
    const r = await run();
    say(`[bench] ${name}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
    return r;
  } catch (error) {
    results.errors[name] = (error as Error).stack ?? String(error);
    say(`[bench] ${name} FAILED: ${(error as Error).message}`);
    return undefined;
  }
}

results.perPage = await section('per-page cost', () => runPerPageIsolated(CONFIG.perPage, modules));
const [{ runRequests }, { runRateLimit, runLongWindow }, { runMemory }, { runCostModel }] = await modules;
results.requests = await section('requests', () => runRequests(CONFIG.requests));
const pseudoMsPerPage = results.perPage
  ? ((results.perPage.variants.pseudo?.wallMs ?? 0) -
      results.perPage.pseudo.sleepsPerRound * results.perPage.pseudo.sleepMs) /
    results.perPage.pagesPerRound
  : 30;
results.rateLimit = await section('rate limits', () =>
  runRateLimit(
    {
      ...CONFIG.rateLimit,
      measureFixedSleep: CONFIG.measureFixedSleep,
      settings: concurrency,
    },
    pseudoMsPerPage,
  ),
);
if (CONFIG.serialDiagnostic) {
  results.rateLimitSerial = await section('rate limits, serial (diagnostic)', () =>
    runRateLimit(
      {
        ...CONFIG.rateLimit,
        measureFixedSleep: false,
        settings: { mapConcurrency: 1, windowConcurrency: 1 },
      },
      pseudoMsPerPage,
    ),
  );
}
results.longWindow = await section('rate limits, one long window', () => runLongWindow(CONFIG.longWindow));
results.memory = await section('memory', () => runMemory(CONFIG.memory));
results.cost = await section('cost model', () =>
  runCostModel({ ...CONFIG.cost, backfill: BACKFILL, dailyRunsPerMonth: 30 }),
);
results.durationMs = Date.now() - started;

// The targets, each with its figure and verdict.
const t = results.targets;
const fmt = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const money = (n: number) => `$${n < 0.01 ? n.toFixed(4) : n.toFixed(3)}`;
if (results.perPage) {
  const r = results.perPage.ratios;
  t.push({
    target: 'CPU per record within 1.5× of the raw bound',
    figure: `${fmt(r.pipelineOverRaw)}× (pages only, no manifest: ${fmt(r.pipelinePagesOverRaw)}×)`,
    pass: r.pipelineOverRaw <= 1.5,
  });
  t.push({
    target: '≥1.5× less CPU per record than the official client’s loop',
    figure: `${fmt(r.officialOverPipeline)}×`,
    pass: r.officialOverPipeline >= 1.5,
  });
}
if (results.rateLimit) {
  const r = results.rateLimit;
  const perSecond = r.config.limit / r.config.periodSeconds;
  t.push({
    target: 'rate-limited backfill ≥5× faster than the fixed-sleep loop',
    figure: `${fmt(r.speedup, 1)}× (limit ${r.config.limit}/${r.config.periodSeconds} s = ${fmt(perSecond, 1)} req/s)`,
    pass: perSecond > 1 ? r.speedup >= 5 : null,
  });
  t.push({
    target: 'rate-limited backfill within 1.1× of the window bound',
    figure: `${fmt(r.pipeline.overBound)}× (${(r.pipeline.wallMs / 1000).toFixed(1)} s vs ${(r.pipeline.boundMs / 1000).toFixed(1)} s)`,
    pass: r.pipeline.overBound <= 1.1,
  });
  t.push({
    target: '… with at most one 429 per window of the limit',
    figure: `${r.pipeline.throttled429} × 429 over ${r.pipeline.limitWindowsSpanned} limit windows, max ${r.pipeline.max429PerLimitWindow} in one`,
    pass: r.pipeline.max429PerLimitWindow <= 1,
  });
}
if (results.longWindow) {
  const r = results.longWindow;
  t.push({
    target: 'one window of hundreds of pages, every wait a Wait state, within 1.1× of the window bound',
    figure: `${fmt(r.overBound)}× (${r.pages} pages, ${r.waitStates} Wait states, ${r.windowExecutions} window executions)`,
    pass: r.overBound <= 1.1,
  });
  t.push({
    target: '… with at most one 429 per window of the limit',
    figure: `${r.throttled429} × 429 over ${r.limitWindowsSpanned} limit windows, max ${r.max429PerLimitWindow} in one`,
    pass: r.max429PerLimitWindow <= 1,
  });
}
if (results.requests) {
  const off = results.requests.filter((x) => x.requests !== x.minimum);
  t.push({
    target: 'requests equal to the minimum',
    figure: `${results.requests.length - off.length}/${results.requests.length} runs at the minimum (${results.requests.reduce((s, x) => s + x.requests, 0)} requests, minimum ${results.requests.reduce((s, x) => s + x.minimum, 0)})`,
    pass: off.length === 0,
  });
}
if (results.memory) {
  const base = results.memory.rows[0];
  const big = results.memory.rows[1];
  t.push({
    target: 'peak RSS < 128 MB at 500-record pages',
    figure: `${base?.maxRssMB} MB (${big?.maxRssMB} MB at ${big?.case})`,
    pass: (base?.maxRssMB ?? Number.POSITIVE_INFINITY) < 128,
  });
}
if (results.cost) {
  const one = results.cost.orgs.find((o) => o.orgs === 1);
  if (one) {
    t.push({
      target: '15-month backfill for one org < $0.10',
      figure: money(one.backfill.breakdown.cost.total),
      pass: one.backfill.breakdown.cost.total < 0.1,
    });
  }
  const months = results.cost.orgs.map((o) => o.daily.perMonth.cost.total);
  t.push({
    target: 'a month of daily runs < $1',
    figure: results.cost.orgs
      .map((o) => `${money(o.daily.perMonth.cost.total)} (${o.orgs} org${o.orgs > 1 ? 's' : ''})`)
      .join(', '),
    pass: months.every((m) => m < 1),
  });
}

writeFileSync(
  fileURLToPath(new URL('./results.json', import.meta.url)),
  `${JSON.stringify(results, null, 2)}\n`,
);

// The Markdown the bench prints and writes into docs/performance.md.
const out: string[] = [];
const p = (line = '') => out.push(line);
const n0 = (n: number) => Math.round(n).toLocaleString('en-US');
const row = (cells: Array<string | number>) => p(`| ${cells.join(' | ')} |`);
const head = (cells: string[]) => {
  row(cells);
  row(cells.map(() => '---'));
};

p(
  `Benchmark (${results.mode}): \`${results.command}\` — Node ${results.node}, ${results.cpus} × ${results.cpuModel}, ${(results.durationMs / 1000).toFixed(0)} s, ${results.startedAt.slice(0, 10)}`,
);
p();
if (results.perPage) {
  const r = results.perPage;
  const c = r.config;
  p(
    `**1. Per-page cost** — hourly_usage, ${c.orgs} orgs × ${c.days} day(s), ${r.pageSize}-record pages: ${n0(r.recordsPerRound)} records in ${r.pagesPerRound} pages (${(r.responseBytesPerRound / 1e6).toFixed(1)} MB of JSON) per round; median of ${c.reps} rounds after ${c.warmups} warm-up; CPU = process.cpuUsage() user+system of the client process (simulator and S3 server in a child process)`,
  );
  p();
  head(['path', 'records/s', 'CPU ms / 1k records', '× raw bound', '× pipeline']);
  const raw = r.variants.raw?.cpuMsPer1kRecords ?? Number.NaN;
  const pipe = r.variants.pipeline?.cpuMsPer1kRecords ?? Number.NaN;
  for (const v of Object.values(r.variants)) {
    row([
      v.description,
      n0(v.recordsPerSecond),
      fmt(v.cpuMsPer1kRecords),
      fmt(v.cpuMsPer1kRecords / raw),
      fmt(v.cpuMsPer1kRecords / pipe),
    ]);
  }
  p();
  p(
    `Pseudo-code loop wall time: ${(r.variants.pseudo?.wallMs ?? 0).toFixed(0)} ms with ${r.pseudo.sleepsPerRound} sleeps of ${r.pseudo.sleepMs} ms; with Datadog's 5 s it would be ${(r.pseudo.wallAt5sMs / 1000).toFixed(1)} s per round.`,
  );
  p();
  head(['pipeline CPU per page, by component (measured alone on the same pages)', 'CPU ms / page']);
  for (const b of r.breakdown) row([b.description, fmt(b.cpuMsPerPage)]);
  p();
  p(
    `S3 requests the pipeline sent per round (${r.pagesPerRound} pages, ${r.config.days} windows), counted on its client: ${Object.entries(
      r.pipelineS3OpsPerRound,
    )
      .map(([op, n]) => `${op} ${n}`)
      .join(', ')}.`,
  );
  p();
}
if (results.requests) {
  p(
    '**2. Requests** — hourly_usage through runLocal (the synthesized definition), 500-record pages; minimum = Σ ⌈records / 500⌉ per day window',
  );
  p();
  head(['orgs', 'days', 'records', 'requests', 'minimum', 'extra', 'state transitions', 'fetch invocations']);
  for (const x of results.requests) {
    row([
      x.orgs,
      x.days,
      n0(x.records),
      x.requests,
      x.minimum,
      x.extra,
      x.stateTransitions,
      x.fetchInvocations,
    ]);
  }
  p();
}
const rateTable = (r: RateLimitResult, label: string) => {
  row([
    label,
    `${r.pipeline.requests} (${r.pipeline.ok} OK)`,
    `${r.pipeline.throttled429} (max ${r.pipeline.max429PerLimitWindow} in one of ${r.pipeline.limitWindowsSpanned} windows)`,
    `${(r.pipeline.wallMs / 1000).toFixed(1)} s`,
    `${(r.pipeline.boundMs / 1000).toFixed(1)} s (${fmt(r.pipeline.overBound)}×)`,
    `${(r.pipeline.alignedBoundMs / 1000).toFixed(1)} s (${fmt(r.pipeline.overAlignedBound)}×)`,
    `${r.pipeline.waitStates} Wait states, ${r.pipeline.fetchInvocations} invocations`,
  ]);
};
if (results.rateLimit) {
  const r = results.rateLimit;
  const c = r.config;
  p(
    `**3. Rate limits** — simulator limit ${c.limit} requests per ${c.periodSeconds} s (calendar-aligned), hourly_usage pageSize ${c.pageSize}, ${c.orgs} orgs × ${c.days} days = ${n0(r.records)} records, ${r.minimumRequests} pages`,
  );
  p();
  head([
    'run',
    'requests',
    '429s',
    'wall time',
    'bound requests ÷ limit × period',
    'aligned bound from the actual start',
    'pacing',
  ]);
  rateTable(
    r,
    `pipeline, runLocal (mapConcurrency ${concurrency.mapConcurrency}, windowConcurrency ${concurrency.windowConcurrency})`,
  );
  if (results.rateLimitSerial)
    rateTable(results.rateLimitSerial, 'diagnostic: same, mapConcurrency 1, windowConcurrency 1');
  const f = r.fixedSleep;
  row([
    `fixed-sleep loop (sleep 5 s between pages), ${f.mode === 'analytic' ? 'computed: (pages − 1) × 5 s + pages × per-page time of section 1' : `measured over ${f.measuredRequests} requests (${(f.measuredWallMs / 1000).toFixed(0)} s, beside the pipeline), extrapolated`}`,
    `${r.minimumRequests}`,
    `${f.throttled429}`,
    `${(f.wallMs / 1000).toFixed(1)} s`,
    `${fmt(f.wallMs / r.pipeline.boundMs)}×`,
    '',
    `${f.msPerRequest} ms per request`,
  ]);
  p();
  p(`Pipeline vs fixed-sleep loop: ${fmt(r.speedup, 1)}× faster.`);
  p();
}
if (results.longWindow) {
  const r = results.longWindow;
  const c = r.config;
  p(
    `**3b. One long window** — hourly_usage, ${c.orgs} orgs, one day at pageSize 1 = ${n0(r.pages)} pages; simulator limit ${c.limit} requests per ${c.periodSeconds} s on a clock scaled to 1 s = ${c.secondMs} ms (headers in the limit's seconds); maxInlineWaitSeconds 0, the deployed invocation budgets`,
  );
  p();
  head([
    'requests',
    '429s',
    'Wait states',
    'fetch invocations',
    'window executions',
    'wall time from the first request',
    'bound pages ÷ limit × period',
    'aligned bound from the first request',
    'unscaled (against Datadog)',
  ]);
  row([
    `${r.requests}`,
    `${r.throttled429} (max ${r.max429PerLimitWindow} in one of ${r.limitWindowsSpanned} windows)`,
    r.waitStates,
    r.fetchInvocations,
    r.windowExecutions,
    `${(r.wallMs / 1000).toFixed(1)} s`,
    `${(r.boundMs / 1000).toFixed(1)} s (${fmt(r.overBound)}×)`,
    `${(r.alignedBoundMs / 1000).toFixed(1)} s (${fmt(r.overAlignedBound)}×)`,
    `${(r.unscaledWallSeconds / 60).toFixed(0)} min`,
  ]);
  p();
}
if (results.memory) {
  const m = results.memory;
  p(
    `**4. Memory** — peak RSS (process.resourceUsage().maxRSS) of a fresh process running one hourly_usage fetch invocation (${m.runner}), 8 product families`,
  );
  p();
  head([
    'case',
    'orgs',
    'records per window',
    'pages',
    'peak RSS (maxRSS)',
    'VmHWM',
    'heap used at end',
    'duration',
  ]);
  row(['modules loaded, no invocation', '', '', '', `${m.baselineMaxRssMB} MB`, '', '', '']);
  for (const x of m.rows) {
    row([
      x.case,
      x.orgs,
      n0(x.recordsPerWindow),
      x.pages,
      `${x.maxRssMB} MB`,
      x.vmHwmMB === null ? 'n/a' : `${x.vmHwmMB} MB`,
      `${x.heapUsedMB} MB`,
      `${x.durationMs} ms`,
    ]);
  }
  p();
}
if (results.cost) {
  const c = results.cost;
  p(
    `**5. AWS cost** — ${c.prices.region}, prices in bench/prices.ts; 15-month backfill (${BACKFILL.start} → ${BACKFILL.end}, all categories) extrapolated from a measured sample (${c.config.sample.start} → ${c.config.sample.end}): per-window figures × windows per category; daily = one measured run (lookback P3D) × 30`,
  );
  p();
  head([
    'scenario',
    'orgs',
    'windows',
    'state transitions',
    'Lambda req / GB-s',
    'S3 PUT+LIST / GET+HEAD',
    'stored',
    'Step Functions',
    'Lambda',
    'S3',
    'logs',
    'X-Ray + metrics',
    'total',
    'with 1 s per Datadog request',
  ]);
  for (const o of c.orgs) {
    const lines: Array<[string, number, typeof o.backfill.breakdown, number]> = [
      [
        '15-month backfill',
        Object.values(o.backfill.windows).reduce((a, b) => a + (b ?? 0), 0),
        o.backfill.breakdown,
        o.withLatency.backfill,
      ],
      [
        'month of daily runs (30 ×)',
        Object.values(o.daily.windows).reduce((a, b) => a + (b ?? 0), 0) * 30,
        o.daily.perMonth,
        o.withLatency.dailyMonth,
      ],
    ];
    for (const [name, windows, b, lat] of lines) {
      row([
        name,
        o.orgs,
        n0(windows),
        n0(b.transitions),
        `${n0(b.lambdaRequests)} / ${fmt(b.lambdaGbSeconds, 1)}`,
        `${n0(b.s3PutTier)} / ${n0(b.s3GetTier)}`,
        `${(b.storedBytes / 1e6).toFixed(1)} MB`,
        money(b.cost.stepFunctions),
        money(b.cost.lambdaRequests + b.cost.lambdaDuration),
        money(b.cost.s3Requests + b.cost.s3Storage),
        money(b.cost.logs),
        money(b.cost.observability),
        `**${money(b.cost.total)}**`,
        money(lat),
      ]);
    }
  }
  p();
  const o = c.orgs[0];
  if (o) {
    p(
      `Transition model: run ${o.transitions.emptyRun} + ${o.transitions.perGroup} per group + per window 3 × invocations + waits + 1, checked against runLocal (sample ${o.transitions.sampleModel} predicted / ${o.transitions.sampleMeasured} measured, daily ${o.transitions.dailyModel} / ${o.transitions.dailyMeasured}); billed on top: ${o.transitions.perChildExecution} per child execution the distributed Map starts (${o.backfill.groups} in the backfill, ${o.daily.groups} per daily run), which the local interpreter does not see.`,
    );
    p();
  }
  const f = c.fixedMonthly;
  p(
    `Fixed per month, whatever runs (not in the table): ${f.alarms} alarms ${money(f.cost.alarms)}, ${f.dashboards} dashboard ${money(f.cost.dashboards)} (free within an account's first 3), ${f.kmsKeys} KMS key ${money(f.cost.kmsKeys)}, ${f.secrets} secret ${money(f.cost.secrets)}: **${money(f.cost.total)}**.`,
  );
  p();
}
p('**Targets**');
p();
head(['target', 'figure', 'result']);
for (const x of t) row([x.target, x.figure, x.pass === null ? 'n/a' : x.pass ? 'PASS' : '**MISS**']);
for (const [name, error] of Object.entries(results.errors)) {
  row([`section “${name}”`, error.split('\n')[0] ?? '', '**ERROR**']);
}
const markdown = out.join('\n');
process.stdout.write(`${markdown}\n`);
say(`[bench] wrote bench/results.json in ${(results.durationMs / 1000).toFixed(0)} s`);
if (writeDocs && Object.keys(results.errors).length === 0) {
  writeDocBlock(DOCS_FILE, 'bench', markdown);
  say('[bench] wrote these tables into docs/performance.md (block bench)');
} else if (writeDocs) {
  say('[bench] a section failed: docs/performance.md left as it was');
}
process.exit(Object.keys(results.errors).length > 0 ? 1 : 0);
