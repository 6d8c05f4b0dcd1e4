import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATEGORIES, type CategoryOptions, DEFAULT_OPTIONS } from '../../lambdas/categories.ts';
import { windowsFor } from '../../lambdas/core/windows.ts';
import {
  countIds,
  getBytes,
  HARNESS_KEYS,
  type Harness,
  HARNESS_PREFIX as PREFIX,
  readLanded,
  startHarness,
} from '../../local/harness.ts';

const START = '2026-09-01T06';
const END = '2026-09-04T03';

/** Every record the simulator holds for the days of [START, END), widened to whole days. */
function expectedIds(env: Harness, options: CategoryOptions): Set<string> {
  const ids = new Set<string>();
  for (const w of windowsFor('day', new Date('2026-09-01T06:00:00Z'), new Date('2026-09-04T03:00:00Z'))) {
    for (const r of env.sim.expected('hourly_usage', CATEGORIES.hourly_usage.params(w, options))) {
      ids.add(env.sim.recordId('hourly_usage', r));
    }
  }
  return ids;
}

describe('Pipeline: hourly_usage through the synthesized state machine', () => {
  let env: Harness;

  beforeAll(async () => {
    // A rate limit of 12 requests per 1 s window, calendar-aligned: a 4-day backfill must wait.
    env = await startHarness({ sim: { rateLimit: { limit: 12, periodSeconds: 1 } } });
  });
  afterAll(async () => env.close());

  it('lands every record exactly once across pages, invocations and rate-limit waits', async () => {
    // Prepare
    const input = { account: 'main', categories: ['hourly_usage'], start: START, end: END, pageSize: 37 };

    // Act
    const result = await env.run(input, {
      // Hand the cursor back every 4 pages, and turn every exhausted rate-limit window into a Wait state.
      limits: { maxPagesPerInvocation: 4, maxInlineWaitSeconds: 0 },
    });

    // Assess: the run
    expect(result.output.execution_status).toBe('S_OK');
    expect(result.output.s3_url).toBe('s3://lake/dd/');
    const summary = result.output.output.categories.hourly_usage;
    expect(summary?.windows).toBe(4);
    expect(summary?.failed).toBe(0);
    expect(result.stats.waitStates).toBeGreaterThan(0);
    // The distributed Map (child executions in AWS) runs inline here: every group was processed.
    const groupsMap = (
      result.definition.States as Record<string, { ItemProcessor?: { ProcessorConfig?: unknown } }>
    )['For each group'];
    expect(groupsMap?.ItemProcessor?.ProcessorConfig).toEqual({
      Mode: 'DISTRIBUTED',
      ExecutionType: 'STANDARD',
    });
    expect(result.stats.invocations['Summarize group']).toBe(1);
    expect(result.stats.invocations['Summarize run']).toBe(1);
    expect(result.stats.invocations['Fetch hourly_usage']).toBeGreaterThan(summary?.windows ?? 0);

    // Assess: every served record landed exactly once, and nothing else landed
    const expected = expectedIds(env, { ...DEFAULT_OPTIONS, pageSize: 37 });
    const { lines, manifests, commits, keys } = await readLanded(
      env.s3.client,
      env.s3.bucket,
      `${PREFIX}/hourly_usage/`,
    );
    const landed = countIds(lines.map((l) => String(l.record.id)));
    expect(landed.size).toBe(expected.size);
    expect([...landed.values()].every((n) => n === 1)).toBe(true);
    for (const id of expected) expect(landed.has(id)).toBe(true);
    expect(new Set(env.sim.served.map((s) => s.id))).toEqual(expected);
    expect(summary?.records).toBe(expected.size);
    expect(summary?.pages).toBeGreaterThan(8);

    // Assess: one manifest per window whose parts, counts and checksums match the objects
    expect([...manifests.keys()].sort()).toEqual(
      ['2026-09-01', '2026-09-02', '2026-09-03', '2026-09-04'].map(
        (d) => `${PREFIX}/hourly_usage/account=main/day=${d}/`,
      ),
    );
    for (const [partition, manifest] of manifests) {
      const partKeys = keys.filter((k) => k.startsWith(partition) && k.endsWith('.json.gz'));
      expect(manifest.parts.map((p) => p.key)).toEqual(partKeys);
      expect(commits.get(partition)).toMatchObject({
        fetch_id: manifest.fetch_id,
        pages: manifest.pages,
        records: manifest.records,
        bytes: manifest.bytes,
      });
      expect(manifest.records).toBe(lines.filter((l) => l.key.startsWith(partition)).length);
      expect(manifest.request.params['page[limit]']).toBe('37');
      expect(JSON.stringify(manifest)).not.toContain('sim-api-key');
      for (const part of manifest.parts) {
        const body = await getBytes(env.s3.client, env.s3.bucket, part.key);
        expect(part.bytes).toBe(body.length);
        expect(part.sha256).toBe(createHash('sha256').update(body).digest('hex'));
      }
    }

    // Assess: records are unchanged plus ingest
    const firstLine = lines[0];
    const first = firstLine?.record;
    expect(first?.ingest).toMatchObject({
      account: 'main',
      category: 'hourly_usage',
      page: 0,
      fetch_id: manifests.get(firstLine?.key.slice(0, firstLine.key.lastIndexOf('/') + 1) ?? '')?.fetch_id,
    });
    expect(first?.type).toBe('usage_timeseries');
  });

  it('re-running with another page size replaces each window with the new fetch, no duplicates, old parts gone', async () => {
    // Prepare: the previous test landed the range with page[limit]=37
    const input = { account: 'main', categories: ['hourly_usage'], start: START, end: END, pageSize: 200 };

    // Act
    const result = await env.run(input);

    // Assess
    expect(result.output.execution_status).toBe('S_OK');
    const expected = expectedIds(env, DEFAULT_OPTIONS);
    const { lines, manifests, keys } = await readLanded(
      env.s3.client,
      env.s3.bucket,
      `${PREFIX}/hourly_usage/`,
    );
    const landed = countIds(lines.map((l) => String(l.record.id)));
    expect(landed.size).toBe(expected.size);
    expect([...landed.values()].every((n) => n === 1)).toBe(true);
    const parts = keys.filter((k) => k.endsWith('.json.gz'));
    expect(parts.length).toBe([...manifests.values()].reduce((n, m) => n + m.pages, 0));
    for (const manifest of manifests.values()) {
      expect(manifest.request.params['page[limit]']).toBe('200');
      expect(manifest.parts.length).toBe(Math.max(1, Math.ceil(manifest.records / 200)));
    }
    // Only the committed fetch's objects remain: the first run's parts and manifests were removed.
    const manifestKeys = keys.filter((k) => k.includes('/_manifest.'));
    expect(manifestKeys).toEqual(
      [...manifests.values()].map((m) => m.parts[0]?.key.replace(/part-.*$/, `_manifest.${m.fetch_id}.json`)),
    );
  });

  it('reports wrong keys as a clear failure and writes no part', async () => {
    // Act
    const result = await env.run(
      { account: 'main', categories: ['hourly_usage'], start: '2026-08-01', end: '2026-08-02' },
      { keys: { ...HARNESS_KEYS, apiKey: 'WRONG-API-KEY-1234' } },
    );

    // Assess
    expect(result.output.execution_status).toBe('E_FAIL');
    const failures = result.output.output.categories.hourly_usage?.failures ?? [];
    expect(failures).toHaveLength(1);
    expect(failures[0]?.error).toBe('DatadogAuthError');
    expect(failures[0]?.message).toMatch(/403.*API key is invalid.*usage_read/);
    expect(JSON.stringify(result.output)).not.toContain('WRONG-API-KEY-1234');
    const { keys } = await readLanded(
      env.s3.client,
      env.s3.bucket,
      `${PREFIX}/hourly_usage/account=main/day=2026-08-01/`,
    );
    expect(keys).toEqual([]);
  });

  it('splits a longer range into groups of 8 windows, each run as a child of the distributed Map', async () => {
    // Act: 10 days are two groups (8 + 2)
    const result = await env.run(
      { account: 'main', categories: ['hourly_usage'], start: '2026-10-01', end: '2026-10-11' },
      { prefix: 'split' },
    );

    // Assess
    expect(result.output.execution_status).toBe('S_OK');
    expect(result.stats.invocations['Summarize group']).toBe(2);
    expect(result.output.output.categories.hourly_usage?.windows).toBe(10);
    const { lines, manifests } = await readLanded(env.s3.client, env.s3.bucket, 'split/hourly_usage/');
    expect(manifests.size).toBe(10);
    const landed = countIds(lines.map((l) => String(l.record.id)));
    expect([...landed.values()].every((n) => n === 1)).toBe(true);
    expect(landed.size).toBe(result.output.output.categories.hourly_usage?.records);
  });
});
