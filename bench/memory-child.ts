/**
 * Section 4's child: one invocation of the hourly_usage fetch handler in a fresh process, then its peak
 * RSS. bench/memory.ts bundles this file the way the deployed Lambda is bundled (esbuild, ESM, minified,
 * @aws-sdk external) and runs it with plain `node`, so no TypeScript loader sits in the measured memory.
 * Imports only what a deployed function loads (no simulator, no s3rver), Powertools' Logger, Metrics
 * and Tracer included (writing to stdout as in Lambda; the Tracer is off outside Lambda).
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_OPTIONS } from '../lambdas/categories.ts';
import { DEFAULT_LIMITS } from '../lambdas/core/fetch-window.ts';
import { createFetchHandler, type Runtime } from '../lambdas/core/handlers.ts';
import { INITIAL_PROGRESS, type WorkItem } from '../lambdas/core/work-item.ts';
import { createPowertoolsLogger, fromPowertools } from '../lambdas/shared/log.ts';
import { createMetrics } from '../lambdas/shared/metrics.ts';
import { withPowertools } from '../lambdas/shared/runtime.ts';
import { createS3Client } from '../lambdas/shared/s3.ts';

export interface MemoryChildConfig {
  mode: 'baseline' | 'invoke';
  simUrl: string;
  s3Endpoint: string;
  bucket: string;
  windowStart: string;
  now: string;
}

export interface MemoryChildResult {
  mode: MemoryChildConfig['mode'];
  maxRssMB: number;
  heapUsedMB: number;
  vmHwmMB: number | null;
  records: number;
  pages: number;
  bytes: number;
  durationMs: number;
}

const config = JSON.parse(process.env.BENCH_MEMORY ?? '{}') as MemoryChildConfig;
const s3 = createS3Client({
  endpoint: config.s3Endpoint,
  forcePathStyle: true,
  region: 'us-east-1',
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
});
const runtime: Runtime = {
  bucket: config.bucket,
  prefix: 'dd',
  accounts: [{ name: 'main', secretName: 'local', site: 'datadoghq.com' }],
  enabledCategories: ['hourly_usage'],
  s3,
  loadKeys: async () => ({ apiKey: 'sim-api-key', appKey: 'sim-app-key', site: 'datadoghq.com' }),
  clientOptions: { baseUrlOverride: config.simUrl },
  limits: DEFAULT_LIMITS,
  log: fromPowertools(createPowertoolsLogger({ serviceName: 'bench' })),
  metrics: createMetrics({ service: 'bench' }),
  now: () => new Date(config.now),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};
const handler = withPowertools(createFetchHandler('hourly_usage', runtime));
const item: WorkItem = {
  runId: 'bench-memory',
  executionId: 'arn:aws:states:us-east-1:123456789012:execution:DatadogUsageLake:bench-memory',
  executionStart: new Date().toISOString(),
  attempt: 0,
  account: 'main',
  category: 'hourly_usage',
  groupStart: config.windowStart,
  index: 0,
  options: DEFAULT_OPTIONS,
  ...INITIAL_PROGRESS,
};

function vmHwmMB(): number | null {
  try {
    const kb = /VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kb ? Math.round((Number(kb) / 1024) * 10) / 10 : null;
  } catch {
    return null;
  }
}

const started = performance.now();
const deadline = Date.now() + 300_000;
const out =
  config.mode === 'invoke'
    ? await handler({ item, execution: { id: 'bench-memory', budget: 10_000 } }, {
        awsRequestId: 'bench',
        functionName: 'bench',
        getRemainingTimeInMillis: () => deadline - Date.now(),
      } as never)
    : undefined;
const result: MemoryChildResult = {
  mode: config.mode,
  maxRssMB: Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10,
  heapUsedMB: Math.round((process.memoryUsage().heapUsed / 1048576) * 10) / 10,
  vmHwmMB: vmHwmMB(),
  records: out?.records ?? 0,
  pages: out?.pagesWritten ?? 0,
  bytes: out?.bytes ?? 0,
  durationMs: Math.round(performance.now() - started),
};
if (out && out.status !== 'done') throw new Error(`memory child: window ended ${out.status}, not done`);
process.stdout.write(`${JSON.stringify(result)}\n`);
s3.destroy();
process.exit(0);
