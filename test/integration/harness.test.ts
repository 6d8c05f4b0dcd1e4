import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  HARNESS_ACCOUNTS,
  HARNESS_KEYS,
  HARNESS_PREFIX,
  type Harness,
  startHarness,
} from '../../local/harness.ts';
import type { LocalRunOptions } from '../../local/runner.ts';

// What the harness hands runLocal is the subject here, not the run itself.
const { runLocal } = vi.hoisted(() => ({ runLocal: vi.fn(async (options: unknown) => options) }));
vi.mock('../../local/runner.ts', () => ({ runLocal }));

const INPUT = { account: 'main', categories: ['hourly_usage'], start: '2026-09-01', end: '2026-09-02' };

describe('Function: startHarness', () => {
  let env: Harness;
  beforeAll(async () => {
    env = await startHarness({
      sim: { orgs: 1 },
      run: { prefix: 'harness', waitOverrideMs: 0, clientOptions: { baseDelayMs: 1 } },
    });
  });
  afterAll(async () => env.close());

  it('runs against its own simulator and bucket with the default keys and account', async () => {
    // Act
    const options = (await env.run(INPUT)) as unknown as LocalRunOptions;

    // Assess
    expect(options).toEqual({
      input: INPUT,
      accounts: HARNESS_ACCOUNTS,
      keys: HARNESS_KEYS,
      datadogUrl: env.sim.url,
      s3: env.s3.client,
      bucket: env.s3.bucket,
      prefix: 'harness',
      waitOverrideMs: 0,
      clientOptions: { baseDelayMs: 1 },
    });
    expect(HARNESS_KEYS).toEqual({ apiKey: 'sim-api-key', appKey: 'sim-app-key', site: 'datadoghq.com' });
    expect(HARNESS_PREFIX).toBe('dd');
  });

  it("passes every override through whole, options it does not know included, after the harness's own", async () => {
    // Prepare: an option runLocal might grow tomorrow, and another input
    const other = { ...INPUT, end: '2026-09-03' };
    const overrides = {
      prefix: 'other',
      clientOptions: { maxInlineWaits: 0 },
      datadogUrl: 'http://127.0.0.1:1',
      input: other,
      futureOption: { depth: 2 },
    } as Partial<LocalRunOptions>;

    // Act
    const options = (await env.run(INPUT, overrides)) as unknown as Record<string, unknown>;

    // Assess
    expect(options).toMatchObject({
      prefix: 'other',
      clientOptions: { maxInlineWaits: 0 },
      datadogUrl: 'http://127.0.0.1:1',
      futureOption: { depth: 2 },
      waitOverrideMs: 0,
      input: other,
    });
    expect(options.clientOptions).toEqual({ maxInlineWaits: 0 });
  });

  it('removes its temp directory when closed', async () => {
    // Prepare
    const other = await startHarness();
    const directory = other.s3.directory;

    // Act
    await other.close();

    // Assess
    expect(existsSync(directory)).toBe(false);
  });
});
