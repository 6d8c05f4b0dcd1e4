import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATEGORY_NAMES } from '../../lambdas/categories.ts';
import { listKeys } from '../../local/harness.ts';
import { type LocalS3, startS3Server } from '../../local/s3-server.ts';
import { type DatadogSimulator, type SimulatorOptions, startSimulator } from '../../local/simulator/index.ts';
import { listenOnLoopback } from '../../local/simulator/loopback.ts';
import { main } from '../../ops/doctor.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const NOW = new Date('2026-11-20T12:00:00Z');
const SIM_ENV = { DD_API_KEY: 'sim-api-key', DD_APP_KEY: 'sim-app-key' };
const COST = ['historical_cost', 'estimated_cost', 'projected_cost', 'cost_attribution'];
const PARENT_ONLY = ['billable_summary', 'usage_summary', ...COST];

let dataDir: string;
beforeAll(() => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'doctor-'));
});
afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

/** A simulator on loopback for one describe block, on the same clock as the doctor. */
function withSimulator(options: SimulatorOptions = {}) {
  const ctx = {} as { sim: DatadogSimulator };
  beforeAll(async () => {
    ctx.sim = await startSimulator({ now: () => NOW, ...options });
  });
  afterAll(async () => ctx.sim.close());
  return ctx;
}

/** `npm run doctor` in-process: its exported main, the report and the notes captured. */
async function doctor(args: string[], env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main([...args, '--data-dir', dataDir], {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    env,
    now: () => NOW,
  });
  return { code, out, err, text: out.join('\n') };
}

const linesOf = (out: string[], mark: '✓' | '✗') => out.filter((l) => l.startsWith(`  ${mark} `));

describe('Function: npm run doctor (ops/doctor.ts main) against a healthy simulator', () => {
  const ctx = withSimulator();

  it('passes every check of every category, the organization and the embedded bucket, exit 0', async () => {
    // Act
    const r = await doctor(['--datadog-url', ctx.sim.url]);

    // Assess
    expect(r.code).toBe(0);
    expect(linesOf(r.out, '✗')).toEqual([]);
    expect(r.out).toContain('  ✓ main: API key valid for datadoghq.com');
    for (const name of CATEGORY_NAMES) {
      expect(r.text).toMatch(new RegExp(`  ✓ main: ${name}: readable with usage_read`));
    }
    expect(r.out).toContain(
      "  ✓ main: organization: parent organization keys; descendants included (includeDescendants: true): the child organizations' usage and costs land too",
    );
    expect(r.out).toContain('  ✓ main: projected_cost: current month only; earlier windows are skipped');
    expect(r.out).toContain(
      '  ✓ main: estimated_cost: current and previous month only; earlier windows are skipped',
    );
    expect(r.text).toMatch(
      / {2}✓ main: hourly_usage, .*: windows before 2025-09 are skipped \(older than Datadog's 15-month retention\)/,
    );
    expect(r.text).toMatch(
      / {2}✓ bucket: s3:\/\/local\/datadog\/ writable \(wrote and deleted datadog\/_doctor\/probe-.*\.json\)/,
    );
    expect(r.out).toContain('  ✓ bucket: encryption: not checked (embedded S3 server)');
    expect(r.out).toContain('  ✓ bucket: versioning: not checked (embedded S3 server)');
    expect(r.out.at(-1)).toMatch(/^All \d+ checks passed\.$/);
  });

  it('sends one minimal request per category: the smallest page of a recent window, no cursor followed', async () => {
    // Prepare
    const before = ctx.sim.requests.length;

    // Act
    const r = await doctor(['--datadog-url', ctx.sim.url, '--categories', 'hourly_usage,historical_cost']);

    // Assess
    expect(r.code).toBe(0);
    const requests = ctx.sim.requests.slice(before);
    expect(requests.map((q) => q.path)).toEqual([
      '/api/v1/validate',
      '/api/v2/usage/hourly_usage',
      '/api/v2/usage/historical_cost',
    ]);
    expect(requests[1]?.query).toMatchObject({
      'page[limit]': '1',
      'filter[timestamp][start]': '2026-11-19T00',
      'filter[timestamp][end]': '2026-11-20T00',
    });
    expect(requests[2]?.query).toMatchObject({
      start_month: '2026-10',
      end_month: '2026-10',
      view: 'sub-org',
    });
  });

  it('--json prints the report as {ok, checks: [{name, ok, detail, cause, fix}]} on stdout', async () => {
    // Act
    const r = await doctor(['--datadog-url', ctx.sim.url, '--categories', 'hourly_usage', '--json']);

    // Assess
    expect(r.code).toBe(0);
    const report = JSON.parse(r.text) as { ok: boolean; checks: Array<Record<string, unknown>> };
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual([
      'main/keys',
      'main/api_key',
      'main/category/hourly_usage',
      'main/organization',
      'main/availability/hourly_usage',
      'bucket/reachable',
      'bucket/writable',
      'bucket/encryption',
      'bucket/versioning',
    ]);
    for (const c of report.checks) {
      expect(Object.keys(c)).toEqual(expect.arrayContaining(['name', 'ok', 'detail', 'cause', 'fix']));
      expect(c.cause).toBeNull();
    }
  });

  it('leaves no probe object behind in the bucket', async () => {
    // Prepare
    const s3 = await startS3Server({ directory: path.join(dataDir, 's3'), bucket: 'local' });

    // Act
    const keys = await listKeys(s3.client, 'local', '');
    await s3.close();

    // Assess
    expect(keys).toEqual([]);
  });
});

describe('Function: npm run doctor with a wrong API key', () => {
  const ctx = withSimulator();

  it('fails the API key check with the site and the fix, sends nothing else to Datadog, exit 1', async () => {
    // Prepare
    const before = ctx.sim.requests.length;

    // Act
    const r = await doctor(['--datadog-url', ctx.sim.url], {
      DD_API_KEY: 'wrong',
      DD_APP_KEY: 'sim-app-key',
    });

    // Assess
    expect(r.code).toBe(1);
    expect(linesOf(r.out, '✗')).toEqual([
      '  ✗ main: API key: not valid for datadoghq.com (GET /api/v1/validate answered 403) → use an API key of the organization on datadoghq.com (Organization Settings → API Keys at https://app.datadoghq.com); a key from another site is invalid here, so check the site too (DD_SITE)',
    ]);
    expect(ctx.sim.requests.slice(before).map((q) => q.path)).toEqual(['/api/v1/validate']);
    expect(r.out.at(-1)).toMatch(/^1 of \d+ checks failed/);
  });
});

describe('Function: npm run doctor with an application key without billing_read', () => {
  const ctx = withSimulator({ scopes: ['usage_read'] });

  it('fails the cost categories naming billing_read, passes the usage categories, exit 1', async () => {
    // Act
    const r = await doctor(['--datadog-url', ctx.sim.url], SIM_ENV);

    // Assess
    expect(r.code).toBe(1);
    const fix =
      'give the key\'s role the "Billing Read" permission (Organization Settings → Roles at https://app.datadoghq.com) or use a key of a user with the Datadog Admin role; a scoped application key also needs the billing_read scope';
    expect(linesOf(r.out, '✗')).toEqual(
      COST.map((c) => `  ✗ main: ${c}: the application key lacks billing_read → ${fix}`),
    );
    for (const c of CATEGORY_NAMES.filter((n) => !COST.includes(n))) {
      expect(r.text).toContain(`  ✓ main: ${c}: readable with usage_read (`);
    }
  });
});

describe('Function: npm run doctor with keys of a child organization', () => {
  const ctx = withSimulator({ parentOrg: false });

  it('fails the organization and the parent-only categories, with the parent-org fix, exit 1', async () => {
    // Act
    const r = await doctor(['--datadog-url', ctx.sim.url], SIM_ENV);

    // Assess
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `  ✗ main: organization: child organization keys: ${PARENT_ONLY.join(', ')} answered 400 "API called with non-parent org keys" → create the API and application keys in the parent organization, or remove ${PARENT_ONLY.join(', ')} from the categories (cdk.json, context datadog-usage-lake.categories); a child organization can only fetch hourly_usage and usage_attribution`,
    );
    expect(r.out).toContain(
      '  ✗ main: historical_cost: Datadog answered 400 "API called with non-parent org keys": it serves this category to the parent organization only → use API and application keys created in the parent organization, or remove historical_cost from the categories (cdk.json, context datadog-usage-lake.categories)',
    );
    expect(linesOf(r.out, '✗')).toHaveLength(PARENT_ONLY.length + 1);
    expect(r.text).toContain('  ✓ main: hourly_usage: readable with usage_read');
    expect(r.text).toContain('  ✓ main: usage_attribution: readable with usage_read');
  });

  it('passes when no enabled category needs the parent organization, and says it is a child org', async () => {
    // Act
    const r = await doctor(
      ['--datadog-url', ctx.sim.url, '--categories', 'hourly_usage', '--no-include-descendants'],
      SIM_ENV,
    );

    // Assess
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      "  ✓ main: organization: child organization keys, enough for hourly_usage (none needs the parent organization); descendants not included (includeDescendants: false): only this organization's own usage and costs",
    );
  });
});

describe('Function: npm run doctor on US1-FED with cost_attribution enabled', () => {
  const ctx = withSimulator({ site: 'ddog-gov.com' });

  it('fails cost_attribution as not offered on the site, without asking Datadog for it, exit 1', async () => {
    // Prepare
    const before = ctx.sim.requests.length;

    // Act
    const r = await doctor(['--datadog-url', ctx.sim.url, '--categories', 'hourly_usage,cost_attribution'], {
      ...SIM_ENV,
      DD_SITE: 'ddog-gov.com',
    });

    // Assess
    expect(r.code).toBe(1);
    expect(linesOf(r.out, '✗')).toEqual([
      '  ✗ main: cost_attribution: cost_attribution is not available on the ddog-gov.com site: every window of it is skipped → remove cost_attribution from the categories (--categories)',
    ]);
    expect(r.out).toContain('  ✓ main: API key valid for ddog-gov.com');
    expect(ctx.sim.requests.slice(before).some((q) => q.path.includes('cost_by_tag'))).toBe(false);
  });
});

describe('Function: npm run doctor with a bucket it cannot write', () => {
  const ctx = withSimulator();
  let s3: LocalS3;
  let denying: Server;
  let denyingUrl: string;
  beforeAll(async () => {
    s3 = await startS3Server({ directory: path.join(dataDir, 'other-s3'), bucket: 'exists' });
    // An S3 endpoint that knows the bucket and refuses every write, as a bucket policy would.
    denying = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const status = req.method === 'HEAD' ? 200 : req.method === 'PUT' ? 403 : 501;
        const code = status === 403 ? 'AccessDenied' : 'NotImplemented';
        res.writeHead(status, { 'content-type': 'application/xml' });
        res.end(
          req.method === 'HEAD' ? undefined : `<Error><Code>${code}</Code><Message>${code}</Message></Error>`,
        );
      });
    });
    denyingUrl = (await listenOnLoopback(denying)).url;
  });
  afterAll(async () => {
    await s3.close();
    await new Promise((resolve) => denying.close(resolve));
  });

  it('fails a bucket that does not exist on the S3 server, with the fix, exit 1', async () => {
    // Act
    const r = await doctor([
      ...['--datadog-url', ctx.sim.url, '--categories', 'hourly_usage'],
      ...['--s3-endpoint', s3.endpoint, '--bucket', 'missing'],
    ]);

    // Assess
    expect(r.code).toBe(1);
    expect(linesOf(r.out, '✗')).toEqual([
      `  ✗ bucket: s3://missing (at ${s3.endpoint}): the bucket does not exist → pass the right --bucket, or create it (npm start creates a missing bucket on an S3-compatible endpoint)`,
    ]);
  });

  it('fails an endpoint that answers 403 to the probe write, naming the grant to add, exit 1', async () => {
    // Act
    const r = await doctor([
      ...['--datadog-url', ctx.sim.url, '--categories', 'hourly_usage'],
      ...['--s3-endpoint', denyingUrl, '--bucket', 'lake', '--prefix', 'dd'],
    ]);

    // Assess
    expect(r.code).toBe(1);
    expect(linesOf(r.out, '✗')).toEqual([
      expect.stringMatching(
        /^ {2}✗ bucket: s3:\/\/lake\/dd\/: cannot write under it: PutObject dd\/_doctor\/probe-[^ ]+\.json answered 403 AccessDenied → allow s3:PutObject and s3:DeleteObject on arn:aws:s3:::lake\/dd\/\* for your credentials/,
      ),
    ]);
    expect(r.out).toContain(
      '  ✓ bucket: encryption: not checked (the endpoint does not implement GetBucketEncryption)',
    );
  });

  it('passes a bucket on an S3-compatible endpoint, reporting its settings without requiring them', async () => {
    // Act
    const r = await doctor([
      ...['--datadog-url', ctx.sim.url, '--categories', 'hourly_usage'],
      ...['--s3-endpoint', s3.endpoint, '--bucket', 'exists'],
    ]);

    // Assess
    expect(r.code).toBe(0);
    expect(r.text).toContain('  ✓ bucket: s3://exists/datadog/ writable');
    expect(r.out).toContain(
      '  ✓ bucket: versioning: off (an S3-compatible endpoint; the stack versions its bucket)',
    );
    expect(await listKeys(s3.client, 'exists', '')).toEqual([]);
  });
});

describe('Function: npm run doctor flags', () => {
  const ctx = withSimulator();

  it.each([
    [['--categories', 'hourly_usage,bogus'], /categories\[1\]: "bogus" is not one of/],
    [['--secrets', '--datadog-url', 'http://127.0.0.1:1'], /datadog-url: not with --secrets or --deployed/],
    [['--account', 'a/b'], /account: "a\/b" is not a valid account name/],
    [['--prefix', '../up'], /prefix: .*not a safe S3 prefix/],
    [['--s3-endpoint', 'http://127.0.0.1:1'], /bucket: required with --s3-endpoint/],
    [['--bogus'], /Unknown option '--bogus'/],
  ])('refuses %j before any request, exit 2', async (flags, message) => {
    // Prepare
    const before = ctx.sim.requests.length;

    // Act
    const r = await doctor(flags);

    // Assess
    expect(r.code).toBe(2);
    expect(r.err.join('\n')).toMatch(message);
    expect(ctx.sim.requests.length).toBe(before);
  });

  it('--help prints the usage, exit 0', async () => {
    // Act
    const r = await doctor(['--help']);

    // Assess
    expect(r.code).toBe(0);
    expect(r.text).toMatch(/^Usage: npm run doctor -- \[flags\]/);
    expect(r.text).toContain('--deployed');
    expect(r.text).toContain('--json');
  });
});

describe('Process: node --import tsx ops/doctor.ts (the npm run doctor script)', () => {
  it('checks the built-in simulator and an embedded S3 server by default, exit 0', async () => {
    // Prepare
    const { DD_API_KEY: _a, DD_APP_KEY: _b, DD_SITE: _c, ...env } = process.env;

    // Act
    const r = await promisify(execFile)(
      process.execPath,
      [
        '--openssl-legacy-provider',
        '--import',
        'tsx',
        'ops/doctor.ts',
        '--data-dir',
        path.join(dataDir, 'spawned'),
      ],
      { cwd: ROOT, env },
    );

    // Assess
    expect(r.stderr).toMatch(
      /No DD_API_KEY\/DD_APP_KEY set: checking the built-in Datadog simulator at http:\/\/127\.0\.0\.1:\d+/,
    );
    expect(r.stdout).toContain("  ✓ main: keys: the built-in simulator's (no DD_API_KEY/DD_APP_KEY set)");
    expect(r.stdout).toContain('  ✓ main: API key valid for datadoghq.com');
    expect(r.stdout).toMatch(/All \d+ checks passed\.\n$/);
  });

  it('leaves the instance metadata credentials on: --deployed may run with an EC2 instance role', async () => {
    // Prepare
    const { AWS_EC2_METADATA_DISABLED: _d, ...env } = process.env;
    const script =
      "await import('./ops/doctor.ts'); console.log(process.env.AWS_EC2_METADATA_DISABLED ?? 'unset');";

    // Act
    const r = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: ROOT, env },
    );

    // Assess
    expect(r.stdout.trim()).toBe('unset');
  });

  it('exits 1 with the ✗ line and its fix when a check fails', async () => {
    // Prepare: the built-in simulator on US1-FED's site, through the environment's keys
    const sim = await startSimulator();
    const { DD_API_KEY: _a, DD_APP_KEY: _b, DD_SITE: _c, ...env } = process.env;

    // Act
    const r = await promisify(execFile)(
      process.execPath,
      [
        ...['--openssl-legacy-provider', '--import', 'tsx', 'ops/doctor.ts'],
        ...[
          '--datadog-url',
          sim.url,
          '--categories',
          'cost_attribution',
          '--data-dir',
          path.join(dataDir, 'spawned'),
        ],
      ],
      { cwd: ROOT, env: { ...env, ...SIM_ENV, DD_SITE: 'ddog-gov.com' } },
    ).then(
      () => ({ code: 0, stdout: '' }),
      (e: { code: number; stdout: string }) => e,
    );
    await sim.close();

    // Assess
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      '  ✗ main: cost_attribution: cost_attribution is not available on the ddog-gov.com site: every window of it is skipped → remove cost_attribution from the categories (--categories)',
    );
  });
});
