import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../local/cli.ts';
import { type Harness, listKeys, startHarness } from '../../local/harness.ts';

function captureOutput() {
  const lines: string[] = [];
  const push = (...args: unknown[]) => {
    lines.push(args.map(String).join(' '));
  };
  vi.spyOn(console, 'log').mockImplementation(push);
  vi.spyOn(console, 'error').mockImplementation(push);
  return lines;
}

describe('Function: npm start (local/cli.ts)', () => {
  let env: Harness;
  let dataDir: string;

  beforeAll(async () => {
    env = await startHarness();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'cli-data-'));
  });
  afterAll(async () => {
    await env.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('runs against any Datadog-compatible server and S3 endpoint given by flags', async () => {
    // Prepare
    const lines = captureOutput();
    const args = [
      ...['--datadog-url', env.sim.url, '--s3-endpoint', env.s3.endpoint, '--bucket', 'cli-bucket'],
      ...['--prefix', 'dd', '--account', 'main', '--categories', 'hourly_usage'],
      ...['--start', '2026-09-01', '--end', '2026-09-04'],
    ];

    // Act
    const code = await main(args);

    // Assess
    expect(code).toBe(0);
    const output = JSON.parse(lines.find((l) => l.startsWith('{')) ?? '{}');
    expect(output.execution_status).toBe('S_OK');
    expect(output.s3_url).toBe('s3://cli-bucket/dd/');
    expect(output.output.categories.hourly_usage.windows).toBe(3);
    const keys = await listKeys(env.s3.client, 'cli-bucket', 'dd/hourly_usage/');
    for (const day of ['2026-09-01', '2026-09-02', '2026-09-03']) {
      const folder = `dd/hourly_usage/account=main/day=${day}/`;
      expect(keys.filter((k) => k.startsWith(folder)).map((k) => k.slice(folder.length))).toEqual([
        expect.stringMatching(/^_manifest\.\d{8}T\d{9}Z-0000-[0-9a-f]{8}\.json$/),
        expect.stringMatching(/^part-00000\.\d{8}T\d{9}Z-0000-[0-9a-f]{8}\.json\.gz$/),
      ]);
      expect(keys).toContain(`dd/hourly_usage/commits/account=main/day=${day}.json`);
    }
    expect(keys.some((k) => k.includes('day=2026-09-04'))).toBe(false);
    expect(lines.some((l) => l.includes('pages') && l.includes('done'))).toBe(true);
  });

  it.each([
    [['--start', '2026-13-01', '--end', '2026-14-01'], /start: .*month 13/],
    [['--start', '2026-09-04', '--end', '2026-09-01'], /end: .*not after start/],
    [
      ['--categories', 'hourly_usage,bogus', '--start', '2026-09-01'],
      /categories\[1\]: "bogus" is not one of/,
    ],
    [['--account', 'a/b', '--start', '2026-09-01'], /account: "a\/b" is not a valid account name/],
    [['--account', '..', '--start', '2026-09-01'], /account: "\.\." is not a valid account name/],
    [['--prefix', '../escape', '--start', '2026-09-01'], /prefix: .*not a safe S3 prefix/],
    [['--page-size', '900', '--start', '2026-09-01'], /pageSize: expected an integer from 1 to 500/],
    [['--start', 'yesterday'], /start: "yesterday" is not a time in the form YYYY-MM/],
  ])('refuses %j before any request, naming the field, and writes nothing', async (flags, message) => {
    // Prepare
    const lines = captureOutput();
    const before = env.sim.requests.length;
    const dir = path.join(dataDir, 'refused');

    // Act
    const code = await main(['--datadog-url', env.sim.url, '--data-dir', dir, ...flags]);

    // Assess
    expect(code).toBe(2);
    expect(lines.join('\n')).toMatch(message);
    expect(env.sim.requests.length).toBe(before);
    expect(existsSync(dir)).toBe(false);
  });
});
