import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCdkJsonSettings } from '../../infra/config.ts';
import { definitionsFromTemplate } from '../../infra/definition.ts';
import { localDefinitions } from '../../local/runner.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

type Resource = { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, unknown> };

describe('Synth: the CDK app as `cdk synth` builds it', () => {
  let outdir: string;
  let template: { Resources: Record<string, Resource> };

  beforeAll(() => {
    // Prepare: the real app, bundling included, into a fresh folder
    outdir = mkdtempSync(path.join(os.tmpdir(), 'synth-'));
    const context = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context;
    execFileSync(process.execPath, ['--import', 'tsx', 'infra/app.ts'], {
      cwd: ROOT,
      env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context) },
      stdio: 'pipe',
    });
    template = JSON.parse(readFileSync(path.join(outdir, 'DatadogUsageLake.template.json'), 'utf8'));
  });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('is the definition the local runner executes, both state machines', async () => {
    // Act: the definitions the local runner builds for the same settings, whatever the local accounts
    const settings = loadCdkJsonSettings();
    const local = await localDefinitions({
      ...settings,
      accounts: [{ name: 'other', secretName: 'x', site: 'datadoghq.eu' }],
    });

    // Assess
    expect(local).toEqual(definitionsFromTemplate(template));
  });

  it('bundles ESM functions that load on plain Node and plan a run', () => {
    // Prepare: the plan function's bundle
    const [, plan] = Object.entries(template.Resources).find(
      ([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('PlanFunction'),
    ) as [string, Resource];
    const key = String((plan.Properties.Code as { S3Key: string }).S3Key);
    const bundle = path.join(outdir, `asset.${key.replace(/\.zip$/, '')}`, 'index.mjs');
    const script = `
      const { handler } = await import(${JSON.stringify(bundle)});
      const plan = await handler({ input: { start: '2026-09-01', end: '2026-09-03', categories: ['hourly_usage'] },
        executionId: 'arn:x', executionName: 'smoke' });
      console.log(JSON.stringify({ groups: plan.groups, s3Url: plan.s3Url }));`;

    // Act: plain node (no tsx, no global require), as Lambda loads it
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: os.tmpdir(),
      env: {
        PATH: process.env.PATH,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        DATA_BUCKET: 'bucket',
        DATA_PREFIX: 'dd',
        DD_ACCOUNTS: JSON.stringify([{ name: 'main', secretName: 's', site: 'datadoghq.com' }]),
      },
    }).toString();

    // Assess
    const lines = out.trim().split('\n');
    const result = JSON.parse(lines[lines.length - 1] ?? '{}');
    expect(result.s3Url).toBe('s3://bucket/dd/');
    expect(result.groups).toEqual([
      { account: 'main', category: 'hourly_usage', start: '2026-09-01T00:00:00.000Z', last: 1 },
    ]);
  });
});
