import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { addNagChecks } from '../../infra/checks.ts';
import { parseSettings } from '../../infra/config.ts';
import { DatadogUsageStack } from '../../infra/datadog-usage-stack.ts';

interface Report {
  pluginReports: Array<{
    pluginName: string;
    violations: Array<{ ruleName: string; violatingConstructs?: Array<{ constructPath: string }> }>;
  }>;
}

/** Synthesizes the stack with the packs as infra/app.ts does, returning the report and the acknowledgements. */
function nag(settings: unknown, extra?: (stack: DatadogUsageStack) => void) {
  const outdir = mkdtempSync(path.join(os.tmpdir(), 'nag-'));
  try {
    const app = new App({
      outdir,
      context: { 'aws:cdk:bundling-stacks': [], '@aws-cdk/core:failSynthOnValidationErrors': false },
    });
    const stack = new DatadogUsageStack(app, 'DatadogUsageLake', { settings: parseSettings(settings) });
    extra?.(stack);
    addNagChecks(app);
    app.synth();
    const report: Report = JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
    const acknowledgements = app.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((m) => Object.entries(m.data as Record<string, string>));
    const violations = report.pluginReports.flatMap((p) =>
      p.violations.map(
        (v) => `${v.ruleName} at ${(v.violatingConstructs ?? []).map((c) => c.constructPath).join(', ')}`,
      ),
    );
    return { violations, acknowledgements };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

describe('cdk-nag: AwsSolutions and Serverless packs', () => {
  it.each([
    ['the default settings', undefined],
    [
      'two accounts, per-account schedules, alarm e-mail, an existing bucket',
      {
        bucketName: 'existing-datadog-bucket',
        accounts: [
          { name: 'main', secretName: 'dd/main', site: 'datadoghq.com' },
          { name: 'eu', secretName: 'dd/eu', site: 'datadoghq.eu' },
        ],
        alarmEmail: 'finops@example.com',
        schedule: { mode: 'per-account' },
      },
    ],
  ])('finds nothing unacknowledged with %s, and every acknowledgement has a reason', (_label, settings) => {
    // Act
    const { violations, acknowledgements } = nag(settings);

    // Assess
    expect(violations).toEqual([]);
    expect(acknowledgements.length).toBeGreaterThan(10);
    for (const [id, reason] of acknowledgements) {
      // Ours (cdk-nag packs), and aws-cdk-lib's own for the access-log bucket's ACL.
      expect(id).toMatch(/^(Annotation::)?(AwsSolutions|Serverless)-|^CloudFormation-Validate::W3045$/);
      expect(reason.length, id).toBeGreaterThan(30);
    }
  });

  it('reports what the packs find when nothing acknowledges it', () => {
    // Act: a function without the project's defaults and acknowledgements
    const { violations } = nag(undefined, (stack) => {
      new LambdaFunction(stack, 'Bare', {
        runtime: Runtime.NODEJS_20_X,
        handler: 'i.h',
        code: Code.fromInline('x'),
      });
    });

    // Assess: both packs are active
    expect(violations.some((v) => v.startsWith('Serverless-LambdaDLQ at DatadogUsageLake/Bare'))).toBe(true);
    expect(violations.some((v) => v.startsWith('AwsSolutions-L1 at DatadogUsageLake/Bare'))).toBe(true);
  });
});
