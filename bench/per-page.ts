/**
 * Section 1 — per-page cost: CPU and throughput of fetch → parse → transform → gzip → S3 PUT, for the
 * pipeline (the real fetch handler), the raw bound, the official Datadog client and Datadog's pseudo-code
 * loop, on the same pages. The simulator and S3 server run in a child process (bench/servers.ts), so
 * `process.cpuUsage()` here is the client's CPU only.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { client as ddClient, v2 } from '@datadog/datadog-api-client';
import { request } from 'undici';
import { CATEGORIES, DEFAULT_OPTIONS, type Window } from '../lambdas/categories.ts';
import { createFetchHandler } from '../lambdas/core/handlers.ts';
import { fetchIdOf, type PartitionRef } from '../lambdas/core/layout.ts';
import { type StoredPart, toNdjson, writePart } from '../lambdas/core/page-writer.ts';
import { windowOf } from '../lambdas/core/windows.ts';
import { ACCEPT, DatadogClient, USER_AGENT } from '../lambdas/shared/datadog-client.ts';
import { localS3Client } from '../local/s3-server.ts';
import {
  benchRuntime,
  countS3,
  cpuMs,
  dayWindows,
  driveWindow,
  gc,
  HOURLY_PATH,
  ingestFor,
  KEYS,
  log,
  median,
  NO_LIMIT,
  PREFIX,
  round,
  sleep,
  workItem,
} from './common.ts';
import { startRemoteServers } from './servers.ts';

const gzip = promisify(gzipCb);

export interface PerPageConfig {
  orgs: number;
  days: number;
  firstDay: string;
  reps: number;
  warmups: number;
  /** The pseudo-code's 5 s sleep between pages, scaled down. */
  pseudoSleepMs: number;
}

export interface VariantResult {
  name: string;
  description: string;
  records: number;
  pages: number;
  /** Medians over the repetitions. */
  wallMs: number;
  cpuMs: number;
  recordsPerSecond: number;
  cpuMsPer1kRecords: number;
  /** Every repetition's CPU ms per 1,000 records. */
  samples: number[];
}

export interface PerPageResult {
  config: PerPageConfig;
  pageSize: number;
  recordsPerRound: number;
  pagesPerRound: number;
  responseBytesPerRound: number;
  variants: Record<string, VariantResult>;
  ratios: {
    pipelineOverRaw: number;
    pipelinePagesOverRaw: number;
    officialOverPipeline: number;
    pseudoOverPipeline: number;
  };
  pseudo: { sleepsPerRound: number; sleepMs: number; wallAt5sMs: number };
  /** S3 requests the pipeline sends per round (all windows), by operation, counted on its client. */
  pipelineS3OpsPerRound: Record<string, number>;
  /** CPU ms per page of each component measured alone, and the pipeline's per-page CPU they explain. */
  breakdown: Array<{ component: string; description: string; cpuMsPerPage: number }>;
}

interface Round {
  records: number;
  pages: number;
  extra?: number;
}

type Runner = () => Promise<Round>;

/** Writes a page as the pipeline does, as a new fetch each round (a part is only ever written once). */
async function putPage(
  s3: S3Client,
  ref: PartitionRef,
  round: string,
  page: number,
  records: unknown[],
): Promise<StoredPart> {
  const part = await writePart(s3, {
    ref,
    fetchId: round,
    page,
    records,
    ingest: ingestFor(windowOfRef(ref), page, round),
    next: '',
  });
  if (!part) throw new Error(`${ref.partition} page ${page} of ${round} was written twice`);
  return part;
}

const windowOfRef = (ref: PartitionRef): Window =>
  windowOf('day', new Date(`${ref.partition.slice(4)}T00:00:00Z`));

/** A fetch id no earlier round used. */
const newRound = () => fetchIdOf(new Date().toISOString(), `bench-${Math.random()}`, 0);

const refFor = (prefix: string, w: Window): PartitionRef => ({
  bucket: 'lake',
  prefix,
  category: 'hourly_usage',
  account: 'main',
  partition: w.partition,
});

function breakdownOf(
  samples: Record<string, Array<{ cpu: number }>>,
  variants: Record<string, VariantResult>,
  pages: number,
  windows: number,
  ops: Record<string, number>,
  components: Array<[string, string, Runner]>,
): PerPageResult['breakdown'] {
  const perPage = (name: string) => median((samples[name] ?? []).map((x) => x.cpu)) / pages;
  const desc = Object.fromEntries(components.map(([n, d]) => [n, d]));
  // Requests per page as the pipeline sent them: parts (PutObject beyond one manifest per window) and
  // HeadObjects; the `window` component covers the per-window Delete, List and manifest PutObject.
  const putsPerPage = ((ops.PutObject ?? 2 * windows) - 2 * windows) / pages;
  const headsPerPage = (ops.HeadObject ?? 0) / pages;
  const parts = [
    { component: 'raw', description: 'raw bound: JSON.parse + NDJSON + gzip', cpuMsPerPage: perPage('raw') },
    {
      component: 'http',
      description: 'HTTP GET receive: DatadogClient.get on loopback minus JSON.parse of the same bytes',
      cpuMsPerPage: perPage('get') - perPage('parse'),
    },
    {
      component: 'put',
      description: `${desc.put ?? 'put'} × ${round(putsPerPage, 2)} per page`,
      cpuMsPerPage: perPage('put') * putsPerPage,
    },
    {
      component: 'head',
      description: `${desc.head ?? 'head'} × ${round(headsPerPage, 2)} per page`,
      cpuMsPerPage: perPage('head') * headsPerPage,
    },
    { component: 'window', description: desc.window ?? 'window', cpuMsPerPage: perPage('window') },
  ];
  const sum = parts.reduce((a, b) => a + b.cpuMsPerPage, 0);
  const rows = [
    ...parts,
    { component: 'sum', description: 'sum of the components', cpuMsPerPage: sum },
    {
      component: 'pipeline',
      description: `measured: ${variants.pipeline?.description ?? 'pipeline'}`,
      cpuMsPerPage: perPage('pipeline'),
    },
  ];
  return rows.map((r) => ({ ...r, cpuMsPerPage: round(r.cpuMsPerPage, 2) }));
}

/** `before` is awaited once the servers are up and before any measurement (run.ts loads modules meanwhile). */
export async function runPerPage(config: PerPageConfig, before?: Promise<unknown>): Promise<PerPageResult> {
  const servers = await startRemoteServers({ orgs: config.orgs, rateLimit: NO_LIMIT });
  const s3 = localS3Client(servers.s3Endpoint);
  const windows = dayWindows(config.firstDay, config.days);
  const options = DEFAULT_OPTIONS;
  const def = CATEGORIES.hourly_usage;
  const headers = {
    accept: ACCEPT,
    'user-agent': USER_AGENT,
    'dd-api-key': KEYS.apiKey,
    'dd-application-key': KEYS.appKey,
  };

  try {
    await before;
    // Capture the response bytes once: the raw bound works on exactly these.
    const captured: Array<{ window: Window; page: number; text: string; params: Record<string, string> }> =
      [];
    for (const w of windows) {
      let cursor = '';
      for (let page = 0; ; page++) {
        const params = cursor
          ? { ...def.params(w, options), 'page[next_record_id]': cursor }
          : def.params(w, options);
        const url = new URL(HOURLY_PATH, servers.simUrl);
        for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
        const res = await request(url, { headers });
        const text = await res.body.text();
        if (res.statusCode !== 200) throw new Error(`capture: ${res.statusCode} ${text}`);
        captured.push({ window: w, page, text, params });
        const body = JSON.parse(text) as { meta?: { pagination?: { next_record_id?: string | null } } };
        cursor = body.meta?.pagination?.next_record_id ?? '';
        if (!cursor) break;
      }
    }
    const responseBytes = captured.reduce((s, c) => s + Buffer.byteLength(c.text), 0);

    // 1. The pipeline: the real hourly_usage fetch handler (fetchWindow: client, pacing, writer, manifest).
    //    One uncounted-for round on a counting client first: the S3 requests it sends per page.
    const counted = localS3Client(servers.s3Endpoint);
    const counter = countS3(counted, `${PREFIX}-pipeline`);
    const countingHandler = createFetchHandler(
      'hourly_usage',
      benchRuntime({
        simUrl: servers.simUrl,
        s3: counted,
        bucket: servers.bucket,
        prefix: `${PREFIX}-pipeline`,
      }),
    );
    for (const w of windows) await driveWindow(countingHandler, workItem('hourly_usage', w.start, options));
    const s3OpsPerRound = { ...counter.counts.ops };
    counted.destroy();
    const handler = createFetchHandler(
      'hourly_usage',
      benchRuntime({ simUrl: servers.simUrl, s3, bucket: servers.bucket, prefix: `${PREFIX}-pipeline` }),
    );
    const pipeline: Runner = async () => {
      let records = 0;
      let pages = 0;
      for (const w of windows) {
        const { item } = await driveWindow(handler, workItem('hourly_usage', w.start, options));
        records += item.records;
        pages += item.pagesWritten;
      }
      return { records, pages };
    };

    // 2. The pipeline's per-page path alone: DatadogClient.get + writePart (no manifest, no begin/complete).
    const ddc = new DatadogClient({ ...KEYS, baseUrlOverride: servers.simUrl });
    const pipelinePages: Runner = async () => {
      const fetchRound = newRound();
      let records = 0;
      let pages = 0;
      for (const w of windows) {
        let cursor = '';
        for (let page = 0; ; page++) {
          const params = cursor
            ? { ...def.params(w, options), 'page[next_record_id]': cursor }
            : def.params(w, options);
          const res = await ddc.get(HOURLY_PATH, params);
          const body = res.body as {
            data: unknown[];
            meta?: { pagination?: { next_record_id?: string | null } };
          };
          const info = await putPage(s3, refFor(`${PREFIX}-pages`, w), fetchRound, page, body.data);
          records += info.records;
          pages++;
          cursor = body.meta?.pagination?.next_record_id ?? '';
          if (!cursor) break;
        }
      }
      return { records, pages };
    };

    // 3. The raw bound: JSON.parse + NDJSON + gzip of the captured bytes, no network, no S3.
    const raw: Runner = async () => {
      let records = 0;
      for (const c of captured) {
        const body = JSON.parse(c.text) as { data: unknown[] };
        const gz = await gzip(Buffer.from(toNdjson(body.data, ingestFor(c.window, c.page))));
        if (gz.length === 0) throw new Error('empty gzip');
        records += body.data.length;
      }
      return { records, pages: captured.length };
    };

    // 4. The official client: v2 UsageMeteringApi.getHourlyUsage, cursor from meta.pagination.nextRecordId,
    //    its models serialized back (ObjectSerializer) and written as the same objects.
    const configuration = ddClient.createConfiguration({
      baseServer: new ddClient.BaseServerConfiguration(servers.simUrl, {}),
      authMethods: { apiKeyAuth: KEYS.apiKey, appKeyAuth: KEYS.appKey },
    });
    const api = new v2.UsageMeteringApi(configuration);
    const official: Runner = async () => {
      const fetchRound = newRound();
      let records = 0;
      let pages = 0;
      for (const w of windows) {
        let cursor: string | undefined;
        for (let page = 0; ; page++) {
          const res = await api.getHourlyUsage({
            filterTimestampStart: new Date(w.start),
            filterTimestampEnd: new Date(w.end),
            filterProductFamilies: options.productFamilies.join(','),
            filterIncludeDescendants: options.includeDescendants,
            pageLimit: options.pageSize,
            ...(cursor ? { pageNextRecordId: cursor } : {}),
          });
          const plain = v2.ObjectSerializer.serialize(res.data ?? [], 'Array<HourlyUsage>', '') as unknown[];
          const info = await putPage(s3, refFor(`${PREFIX}-official`, w), fetchRound, page, plain);
          records += info.records;
          pages++;
          cursor = res.meta?.pagination?.nextRecordId ?? undefined;
          if (!cursor) break;
        }
      }
      return { records, pages };
    };

    // 5. Datadog's pseudo-code: sequential GETs (built-in fetch), `sleep 5 s` between pages — scaled down.
    const pseudo: Runner = async () => {
      const fetchRound = newRound();
      let records = 0;
      let pages = 0;
      let sleeps = 0;
      for (const w of windows) {
        let cursor = '';
        for (let page = 0; ; page++) {
          if (page > 0) {
            await sleep(config.pseudoSleepMs);
            sleeps++;
          }
          const url = new URL(HOURLY_PATH, servers.simUrl);
          for (const [k, v] of Object.entries(def.params(w, options))) url.searchParams.set(k, v);
          if (cursor) url.searchParams.set('page[next_record_id]', cursor);
          const res = await fetch(url, { headers });
          const body = (await res.json()) as {
            data: unknown[];
            meta?: { pagination?: { next_record_id?: string | null } };
          };
          const info = await putPage(s3, refFor(`${PREFIX}-pseudo`, w), fetchRound, page, body.data);
          records += info.records;
          pages++;
          cursor = body.meta?.pagination?.next_record_id ?? '';
          if (!cursor) break;
        }
      }
      return { records, pages, extra: sleeps };
    };

    // Components of the per-page path, each alone on the same pages, to attribute the pipeline's CPU.
    const bodies = await Promise.all(
      captured.map(async (c) =>
        gzip(
          Buffer.from(
            toNdjson((JSON.parse(c.text) as { data: unknown[] }).data, ingestFor(c.window, c.page)),
          ),
        ),
      ),
    );
    const componentKey = (i: number) => `${PREFIX}-components/part-${String(i).padStart(5, '0')}.json.gz`;
    const components: Array<[string, string, Runner]> = [
      [
        'parse',
        'JSON.parse of the captured bytes',
        async () => {
          for (const c of captured) JSON.parse(c.text);
          return { records: 0, pages: captured.length };
        },
      ],
      [
        'get',
        'DatadogClient.get (HTTP GET on loopback + JSON.parse)',
        async () => {
          for (const c of captured) await ddc.get(HOURLY_PATH, c.params);
          return { records: 0, pages: captured.length };
        },
      ],
      [
        'put',
        "S3 PutObject of the page's gzip body (AWS SDK v3 → s3rver)",
        async () => {
          for (const [i, body] of bodies.entries()) {
            await s3.send(new PutObjectCommand({ Bucket: servers.bucket, Key: componentKey(i), Body: body }));
          }
          return { records: 0, pages: captured.length };
        },
      ],
      [
        'head',
        'S3 HeadObject of a part (what completeFetch → describePart sends for a part it did not write)',
        async () => {
          for (const i of bodies.keys()) {
            await s3.send(new HeadObjectCommand({ Bucket: servers.bucket, Key: componentKey(i) }));
          }
          return { records: 0, pages: captured.length };
        },
      ],
      [
        'window',
        `S3 per window, spread over its pages: GetObject of the commit record and ListObjectsV2 (first invocation), GetObject of the commit record + manifest PutObject + commit-record PutObject + ListObjectsV2 (completeFetch); ${windows.length} windows / ${captured.length} pages`,
        async () => {
          for (const w of windows) {
            const prefix = `${PREFIX}-components/${w.partition}/`;
            const commit = `${PREFIX}-components/commits/${w.partition}.json`;
            const getCommit = () =>
              s3.send(new GetObjectCommand({ Bucket: servers.bucket, Key: commit })).then(
                (r) => (r.Body as { transformToString(): Promise<string> }).transformToString(),
                () => '',
              );
            await getCommit();
            await s3.send(new ListObjectsV2Command({ Bucket: servers.bucket, Prefix: prefix }));
            await getCommit();
            const parts = captured
              .filter((c) => c.window === w)
              .map((c, i) => ({
                key: componentKey(i),
                page: c.page,
                records: 500,
                bytes: 25_000,
                sha256: 'f'.repeat(64),
              }));
            await s3.send(
              new PutObjectCommand({
                Bucket: servers.bucket,
                Key: `${prefix}_manifest.json`,
                Body: `${JSON.stringify({ version: 2, parts, request: def.params(w, options) }, null, 2)}\n`,
                ContentType: 'application/json',
              }),
            );
            await s3.send(
              new PutObjectCommand({
                Bucket: servers.bucket,
                Key: commit,
                Body: `${JSON.stringify({ window_key: w.partition, records: parts.length * 500 })}\n`,
              }),
            );
            await s3.send(new ListObjectsV2Command({ Bucket: servers.bucket, Prefix: prefix }));
          }
          return { records: 0, pages: captured.length };
        },
      ],
    ];

    const runners: Array<[string, string, Runner]> = [
      ['raw', 'raw bound: JSON.parse + NDJSON + gzip of the captured bytes (no network)', raw],
      ['pipeline', 'pipeline: fetch handler (fetchWindow → DatadogClient → writePart, manifest)', pipeline],
      ['pipelinePages', 'pipeline pages only: DatadogClient.get + writePart (no manifest)', pipelinePages],
      ['official', 'official @datadog/datadog-api-client v2 getHourlyUsage loop + same writePart', official],
      [
        'pseudo',
        `Datadog pseudo-code loop: fetch + writePart, sleep ${config.pseudoSleepMs} ms (for 5 s)`,
        pseudo,
      ],
    ];
    const samples: Record<string, Array<{ wall: number; cpu: number; round: Round }>> = {};
    for (let r = 0; r < config.warmups + config.reps; r++) {
      // One full GC per round, not per runner: forced GCs age bytecode, and V8 flushes the bytecode of
      // functions not run for a few of them (the SDK's), which would then be compiled again inside a
      // measurement.
      // The order rotates every round, so no runner always comes first after the forced GC.
      gc();
      const all = [...runners, ...components];
      const order = all.map((_, i) => all[(i + r) % all.length] as (typeof all)[number]);
      for (const [name, , run] of order) {
        const c0 = cpuMs();
        const t0 = performance.now();
        const round = await run();
        const wall = performance.now() - t0;
        const cpu = cpuMs() - c0;
        if (r >= config.warmups) {
          const list = samples[name] ?? [];
          list.push({ wall, cpu, round });
          samples[name] = list;
        }
      }
      log(
        `  per-page: round ${r + 1}/${config.warmups + config.reps}${r < config.warmups ? ' (warm-up)' : ''}`,
      );
    }

    const variants: Record<string, VariantResult> = {};
    for (const [name, description] of runners) {
      const s = samples[name] ?? [];
      const records = s[0]?.round.records ?? 0;
      const pages = s[0]?.round.pages ?? 0;
      if (s.some((x) => x.round.records !== records))
        throw new Error(`${name}: records differ between rounds`);
      const wallMs = median(s.map((x) => x.wall));
      const cpu = median(s.map((x) => x.cpu));
      variants[name] = {
        name,
        description,
        records,
        pages,
        wallMs: round(wallMs, 1),
        cpuMs: round(cpu, 1),
        recordsPerSecond: Math.round(records / (wallMs / 1000)),
        cpuMsPer1kRecords: round(median(s.map((x) => (x.cpu / records) * 1000)), 3),
        samples: s.map((x) => round((x.cpu / records) * 1000, 3)),
      };
    }
    const recordsPerRound = variants.raw?.records ?? 0;
    for (const v of Object.values(variants)) {
      if (v.records !== recordsPerRound)
        throw new Error(`${v.name} wrote ${v.records} records, raw ${recordsPerRound}`);
    }
    const per1k = (n: string) => variants[n]?.cpuMsPer1kRecords ?? Number.NaN;
    const sleepsPerRound = samples.pseudo?.[0]?.round.extra ?? 0;
    const pseudoWall = variants.pseudo?.wallMs ?? 0;

    return {
      config,
      pageSize: options.pageSize,
      recordsPerRound,
      pagesPerRound: captured.length,
      responseBytesPerRound: responseBytes,
      variants,
      ratios: {
        pipelineOverRaw: round(per1k('pipeline') / per1k('raw')),
        pipelinePagesOverRaw: round(per1k('pipelinePages') / per1k('raw')),
        officialOverPipeline: round(per1k('official') / per1k('pipeline')),
        pseudoOverPipeline: round(per1k('pseudo') / per1k('pipeline')),
      },
      pseudo: {
        sleepsPerRound,
        sleepMs: config.pseudoSleepMs,
        wallAt5sMs: Math.round(pseudoWall + sleepsPerRound * (5000 - config.pseudoSleepMs)),
      },
      pipelineS3OpsPerRound: s3OpsPerRound,
      breakdown: breakdownOf(samples, variants, captured.length, windows.length, s3OpsPerRound, components),
    };
  } finally {
    s3.destroy();
    await servers.close();
  }
}

const SELF = fileURLToPath(import.meta.url);

/**
 * Runs section 1 in a fresh process of its own: the measured process then holds what a fetch Lambda
 * holds (no aws-cdk-lib, no other section's heap), so GC work and code flushing are the client's own.
 * The child starts its servers, then waits for `go` (resolved by the caller once it has nothing else
 * running) before measuring.
 */
export function runPerPageIsolated(config: PerPageConfig, go: Promise<unknown>): Promise<PerPageResult> {
  return new Promise((resolve, reject) => {
    const child = fork(SELF, [], {
      execArgv: ['--import', 'tsx', '--openssl-legacy-provider', '--expose-gc'],
      env: { ...process.env, BENCH_PER_PAGE: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: PerPageResult | undefined;
    child.on('message', (m: { type: string; result?: PerPageResult; error?: string }) => {
      if (m.type === 'ready') void go.then(() => child.send({ type: 'go' }), reject);
      else if (m.type === 'result') result = m.result;
      else if (m.type === 'error') reject(new Error(m.error));
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      result ? resolve(result) : reject(new Error(`per-page child exited ${code}`)),
    );
  });
}

if (process.env.BENCH_PER_PAGE && process.send && process.argv[1] === SELF) {
  const config = JSON.parse(process.env.BENCH_PER_PAGE) as PerPageConfig;
  const go = new Promise<void>((resolve) => {
    process.on('message', (m: { type: string }) => {
      if (m.type === 'go') resolve();
    });
  });
  const ready = Promise.resolve().then(() => process.send?.({ type: 'ready' }));
  try {
    const result = await runPerPage(
      config,
      ready.then(() => go),
    );
    process.send({ type: 'result', result }, () => process.exit(0));
  } catch (error) {
    process.send({ type: 'error', error: (error as Error).stack ?? String(error) }, () => process.exit(1));
  }
}
