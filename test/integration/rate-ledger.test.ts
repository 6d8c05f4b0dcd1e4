import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATE } from '../../infra/state-names.ts';
import { rateLedgerKey } from '../../lambdas/core/layout.ts';
import { S3RateLedger } from '../../lambdas/core/rate-ledger.ts';
import { type Harness, startHarness } from '../../local/harness.ts';
import { type LocalS3, localS3Client, startS3Server } from '../../local/s3-server.ts';
import { type FaultyS3Proxy, startFaultyS3Proxy } from '../support/faulty-s3-proxy.ts';

const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
const HEADERS = { limit: 10, period: 30, remaining: 10, reset: 20, name: 'usage_metering' };

describe('S3RateLedger against an S3-compatible server', () => {
  let dir: string;
  let s3: LocalS3;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ledger-'));
    s3 = await startS3Server({ directory: dir, bucket: 'lake' });
  });
  afterAll(async () => {
    await s3.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets exactly the limit through, however many fetches take from it at once', async () => {
    // Prepare: three fetches of one account, one ledger object
    const key = rateLedgerKey('concurrent', 'main');
    const errors: unknown[] = [];
    const ledgers = Array.from(
      { length: 3 },
      () => new S3RateLedger(s3.client, s3.bucket, key, 1_000, (e) => errors.push(e)),
    );
    await ledgers[0]?.observe('hourly_usage', HEADERS, T0);

    // Act: each takes 8 requests, all three at once
    const answers = await Promise.all(
      ledgers.map(async (ledger) => {
        const mine: Array<number | undefined> = [];
        for (let i = 0; i < 8; i++) mine.push(await ledger.take('hourly_usage', T0));
        return mine;
      }),
    );

    // Assess: 10 sent now, the other 14 told to wait for the window's end
    const all = answers.flat();
    expect(errors).toEqual([]);
    expect(all.filter((a) => a === 0)).toHaveLength(10);
    expect(all.filter((a) => a === T0 + 20_000)).toHaveLength(14);
  });

  it('answers undefined, and reports why, when S3 cannot be reached: the fetch paces by its own headers', async () => {
    // Prepare: an endpoint nothing listens on
    const closed = await startS3Server({ directory: path.join(dir, 'closed'), bucket: 'lake' });
    const client = localS3Client(closed.endpoint);
    await closed.close();
    const errors: unknown[] = [];
    const ledger = new S3RateLedger(client, 'lake', rateLedgerKey('p', 'main'), 1_000, (e) => errors.push(e));

    // Act
    const answer = await ledger.take('hourly_usage', T0);

    // Assess
    expect(answer).toBeUndefined();
    expect(errors).toHaveLength(1);
  });
});

describe('Rate limit ledger in the pipeline: S3 writes only while the limit runs low', () => {
  let env: Harness;
  let proxy: FaultyS3Proxy;

  beforeAll(async () => {
    // A limit far above what the run needs: 100,000 requests per 60 s.
    env = await startHarness({
      sim: {
        orgs: 2,
        productFamilies: ['infra_hosts', 'logs', 'apm_hosts'],
        rateLimit: { limit: 100_000, periodSeconds: 60 },
      },
    });
    proxy = await startFaultyS3Proxy(env.s3.endpoint);
  });
  afterAll(async () => {
    await proxy.close();
    await env.close();
  });

  it('reads and writes the ledger at most once per invocation, not once per request, while plenty remains', async () => {
    // Act: 2 days of 1-record pages, at most 20 pages an invocation
    const result = await env.run(
      { account: 'main', categories: ['hourly_usage'], start: '2026-09-01', end: '2026-09-03', pageSize: 1 },
      {
        s3: localS3Client(proxy.url),
        prefix: 'ledger-run',
        waitOverrideMs: 0,
        limits: { maxPagesPerInvocation: 20 },
      },
    );

    // Assess
    expect(result.output.output.categories.hourly_usage?.failures).toEqual([]);
    expect(result.output.execution_status).toBe('S_OK');
    const requests = env.sim.requests.filter((r) => r.path.startsWith('/api/v2/usage/hourly_usage')).length;
    const invocations = result.stats.invocations[STATE.fetch('hourly_usage')] ?? 0;
    const ledgerKey = rateLedgerKey('ledger-run', 'main');
    const writes = proxy.requests.filter((r) => r.method === 'PUT' && r.key === ledgerKey).length;
    const reads = proxy.requests.filter((r) => r.method === 'GET' && r.key === ledgerKey).length;
    console.log(
      `[ledger] ${requests} requests in ${invocations} invocations: ${writes} ledger writes, ${reads} reads`,
    );
    expect(requests).toBeGreaterThan(150);
    // At most a read and a write for the first request of each invocation; none for the others.
    expect(writes).toBeLessThanOrEqual(invocations);
    expect(reads).toBeLessThanOrEqual(invocations);
    expect(writes + reads).toBeLessThan(requests / 5);
  });
});
