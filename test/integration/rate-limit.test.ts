import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATEGORIES, DEFAULT_OPTIONS } from '../../lambdas/categories.ts';
import { windowOf } from '../../lambdas/core/windows.ts';
import {
  countIds,
  type Harness,
  HARNESS_PREFIX as PREFIX,
  readLanded,
  startHarness,
} from '../../local/harness.ts';

/**
 * One day window of several hundred pages under Datadog's rate limit, at a clock scaled so the test
 * takes seconds: the simulator allows 10 requests per 6 s, each of its seconds lasting SECOND_MS of
 * real time, and the pipeline reads the headers in the same seconds. Every exhausted limit window
 * becomes a Wait state (nothing is slept in the Lambda). An invocation fetches at most a limit's worth
 * of pages and an execution makes at most 10 invocations for the window, so the window outgrows its
 * group's execution and continues in executions of the window state machine, whatever the timing.
 */
const SECOND_MS = 80;
const LIMIT = { limit: 10, periodSeconds: 6, secondMs: SECOND_MS };
const DAY = '2026-09-01';
const HOURLY_PATH = '/api/v2/usage/hourly_usage';

describe('Rate limit: a window of several hundred pages, paced by Wait states', () => {
  let env: Harness;

  beforeAll(async () => {
    env = await startHarness({ sim: { orgs: 2, rateLimit: LIMIT } });
  });
  afterAll(async () => env.close());

  it('lands every record exactly once, continuing in window executions, and reports its pacing', async () => {
    // Prepare: one record per page
    const input = {
      account: 'main',
      categories: ['hourly_usage'],
      start: DAY,
      end: '2026-09-02',
      pageSize: 1,
    };
    const window = windowOf('day', new Date(`${DAY}T00:00:00Z`));
    const expected = env.sim
      .expected('hourly_usage', CATEGORIES.hourly_usage.params(window, { ...DEFAULT_OPTIONS, pageSize: 1 }))
      .map((r) => env.sim.recordId('hourly_usage', r));

    // Act
    const result = await env.run(input, {
      limits: {
        maxInlineWaitSeconds: 0,
        headerSecondMs: SECOND_MS,
        maxPagesPerInvocation: LIMIT.limit,
        budgetOverride: 10,
      },
    });
    const ended = Date.now();

    // Assess: the run, and how it went
    expect(result.output.execution_status).toBe('S_OK');
    expect(expected.length).toBeGreaterThanOrEqual(300);
    const sent = env.sim.requests.filter((r) => r.path === HOURLY_PATH);
    const ok = sent.filter((r) => r.status === 200);
    expect(ok).toHaveLength(expected.length);
    expect(result.stats.waitStates).toBeGreaterThan(0);
    // ≥ 32 invocations at 10 per execution: the group's execution, then at least 3 window executions.
    expect(result.stats.windowExecutions).toBeGreaterThanOrEqual(3);

    // Assess: every record once, in the committed fetch
    const landed = await readLanded(env.s3.client, env.s3.bucket, `${PREFIX}/hourly_usage/`);
    const counts = countIds(landed.visible.map((l) => env.sim.recordId('hourly_usage', l.record)));
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(counts.keys())).toEqual(new Set(expected));
    expect(landed.lines).toHaveLength(expected.length);

    // Assess: no limit window let more requests through than the limit
    const periodMs = LIMIT.periodSeconds * SECOND_MS;
    const perWindow = new Map<number, { sent: number; throttled: number }>();
    for (const r of sent) {
      const w = perWindow.get(Math.floor(r.at / periodMs)) ?? { sent: 0, throttled: 0 };
      w.sent++;
      if (r.status === 429) w.throttled++;
      perWindow.set(Math.floor(r.at / periodMs), w);
    }
    for (const w of perWindow.values()) expect(w.sent - w.throttled).toBeLessThanOrEqual(LIMIT.limit);
    // Each Wait state lasts until its limit window ends: at most one per window, and at most one 429 each.
    expect(result.stats.waitStates).toBeLessThanOrEqual(perWindow.size);
    expect(Math.max(...[...perWindow.values()].map((w) => w.throttled))).toBeLessThanOrEqual(1);

    // Report: pacing from the first request against the header-window bound (the benchmark holds the target)
    const wallMs = ended - (sent[0]?.at ?? ended);
    const boundMs = (ok.length / LIMIT.limit) * periodMs;
    const throttled = sent.length - ok.length;
    console.info(
      `[rate-limit] ${ok.length} pages at ${LIMIT.limit} per ${LIMIT.periodSeconds} s (1 s = ${SECOND_MS} ms): ` +
        `${result.stats.waitStates} Wait states, ${result.stats.windowExecutions} window executions, ` +
        `${throttled} × 429 in ${perWindow.size} limit windows; ${wallMs} ms against a bound of ` +
        `${Math.round(boundMs)} ms (${(wallMs / boundMs).toFixed(2)}×)`,
    );
  });
});
