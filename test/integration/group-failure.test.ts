import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, readLanded, startHarness } from '../../local/harness.ts';
import { localS3Client } from '../../local/s3-server.ts';
import { type FaultyS3Proxy, startFaultyS3Proxy } from '../support/faulty-s3-proxy.ts';

// 10 days: two groups, 2026-10-01 (8 windows) and 2026-10-09 (2 windows).
const INPUT = { account: 'main', categories: ['hourly_usage'], start: '2026-10-01', end: '2026-10-11' };
const SECOND_GROUP = ['day=2026-10-09', 'day=2026-10-10'];

describe('Pipeline: one group fails, the run goes on', () => {
  let env: Harness;
  let proxy: FaultyS3Proxy;

  beforeAll(async () => {
    env = await startHarness({
      sim: { orgs: 1, productFamilies: ['infra_hosts'] },
      run: { waitOverrideMs: 0, clientOptions: { baseDelayMs: 1 } },
    });
    proxy = await startFaultyS3Proxy(env.s3.endpoint);
  });
  afterAll(async () => {
    await proxy.close();
    await env.close();
  });

  const run = (prefix: string, executionName: string, mapConcurrency = 4) =>
    env.run(INPUT, { s3: localS3Client(proxy.url), prefix, executionName, settings: { mapConcurrency } });

  it('records a group whose summary cannot be written as failed windows with the error; the other group completes and Summarize run runs', async () => {
    // Prepare: the second group's summary record can never be written
    proxy.clear();
    proxy.failPut({
      times: Number.POSITIVE_INFINITY,
      keyIncludes: '_runs/run=failing-group/groups/main/hourly_usage/2026-10-09.json',
      status: 500,
    });

    // Act
    const result = await run('g1', 'failing-group');

    // Assess: the run ends E_FAIL, naming the second group's windows and the cause
    expect(result.output.execution_status).toBe('E_FAIL');
    const summary = result.output.output.categories.hourly_usage;
    expect(summary?.windows).toBe(8);
    expect(summary?.failed).toBe(2);
    expect(summary?.failures.map((f) => f.window)).toEqual(SECOND_GROUP);
    for (const f of summary?.failures ?? []) {
      expect(f.error).toBe('StorageError');
      expect(f.message).toMatch(/^the group of 2 window\(s\) from 2026-10-09 failed: S3 PutObject .* failed/);
    }
    expect(result.stats.invocations['Summarize group']).toBeGreaterThanOrEqual(2);
    expect(result.stats.invocations['Record group failure']).toBe(1);
    expect(result.stats.invocations['Summarize run']).toBe(1);
    // The first group's 8 windows landed, each with its manifest
    const { manifests } = await readLanded(env.s3.client, env.s3.bucket, 'g1/hourly_usage/');
    expect(
      [...manifests.keys()].filter((k) => k < 'g1/hourly_usage/account=main/day=2026-10-09'),
    ).toHaveLength(8);
  });

  it('reports a group that could not even record its failure as failed windows (GroupFailedError), from the plan', async () => {
    // Prepare: nothing of the second group's can be written; groups one at a time, so the first one
    // has finished when the second one's child execution fails
    proxy.clear();
    proxy.failPut({
      times: Number.POSITIVE_INFINITY,
      keyIncludes: '_runs/run=lost-group/groups/main/hourly_usage/2026-10-09',
      status: 500,
    });

    // Act
    const result = await run('g2', 'lost-group', 1);

    // Assess
    expect(result.output.execution_status).toBe('E_FAIL');
    const summary = result.output.output.categories.hourly_usage;
    expect(summary?.windows).toBe(8);
    expect(summary?.failed).toBe(2);
    expect(summary?.failures.map((f) => [f.window, f.error])).toEqual(
      SECOND_GROUP.map((w) => [w, 'GroupFailedError']),
    );
    expect(result.stats.invocations['Summarize run']).toBe(1);
    proxy.clear();
  });
});
