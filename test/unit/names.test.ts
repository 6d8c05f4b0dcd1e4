import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DEFAULT_STACK_NAME, parseSettings } from '../../infra/config.ts';
import { DatadogUsageStack } from '../../infra/datadog-usage-stack.ts';
import { ResolvedTemplate, type TemplateJson } from '../support/template-iam.ts';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties of any shape
type Props = Record<string, any>;

/**
 * What each resource type's explicit name is, scoped as the service scopes it (a Glue table's name is
 * unique within its database). Inline IAM policy names are scoped to their role and are left out.
 */
const IDENTITY: Record<string, (p: Props, t: ResolvedTemplate) => string | undefined> = {
  'AWS::Glue::Database': (p, t) => t.resolve((p.DatabaseInput as Props).Name),
  'AWS::Glue::Table': (p, t) => `${t.resolve(p.DatabaseName)}.${t.resolve((p.TableInput as Props).Name)}`,
  'AWS::Athena::WorkGroup': (p, t) => t.resolve(p.Name),
  'AWS::Athena::NamedQuery': (p, t) => `${t.resolve(p.WorkGroup)}/${t.resolve(p.Name)}`,
  'AWS::CloudWatch::Dashboard': (p, t) => p.DashboardName && t.resolve(p.DashboardName),
  // MetricName names what the alarm watches, not the alarm.
  'AWS::CloudWatch::Alarm': (p, t) => p.AlarmName && t.resolve(p.AlarmName),
};
const NOT_PHYSICAL = new Set(['AWS::IAM::Policy']);

/** Every explicit physical name in the template, as `<type> <scoped name>`. */
function explicitNames(template: TemplateJson, stackName: string): string[] {
  const t = new ResolvedTemplate(template, stackName);
  const names: string[] = [];
  for (const [id, r] of Object.entries(template.Resources)) {
    if (NOT_PHYSICAL.has(r.Type)) continue;
    const p = (r.Properties ?? {}) as Props;
    const identity = IDENTITY[r.Type];
    if (identity) {
      const name = identity(p, t);
      if (name) names.push(`${r.Type} ${name}`);
      continue;
    }
    // Any other `…Name` property set on a resource is an explicit physical name.
    for (const key of Object.keys(p).filter((k) => /Name$/.test(k))) {
      names.push(`${r.Type} ${t.resolve(p[key])} (${id}.${key})`);
    }
  }
  return names.map((n) => n.replace(/ \(.*\)$/, ''));
}

function synthTwo(a: { stackName: string; settings?: object }, b: { stackName: string; settings?: object }) {
  const outdir = mkdtempSync(path.join(os.tmpdir(), 'two-stacks-'));
  try {
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    const stacks = [a, b].map(
      ({ stackName, settings }) =>
        new DatadogUsageStack(app, stackName, { settings: parseSettings({ ...settings, stackName }) }),
    );
    // Both in the tree before the one synthesis of the app.
    return stacks.map((stack) => ({
      stackName: stack.stackName,
      template: Template.fromStack(stack).toJSON() as TemplateJson,
    }));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

describe('Stack: two copies side by side in one account and region', () => {
  it.each([
    ['the same settings, another stack name', { stackName: 'DatadogUsageLakeCopy' }],
    [
      'other settings (another prefix, an existing bucket, per-account schedules)',
      {
        stackName: 'datadog-usage-eu',
        settings: {
          prefix: 'eu',
          bucketName: 'existing-datadog-bucket',
          accounts: [{ name: 'eu', secretName: 'dd/eu', site: 'datadoghq.eu' }],
          schedule: { mode: 'per-account' },
        },
      },
    ],
  ])('share no physical name: %s', (_label, second) => {
    // Act
    const [first, other] = synthTwo({ stackName: DEFAULT_STACK_NAME }, second);
    const a = explicitNames(first?.template as TemplateJson, DEFAULT_STACK_NAME);
    const b = explicitNames(other?.template as TemplateJson, second.stackName);

    // Assess: something to compare (database, workgroup, dashboard, state machine and its log group,
    // alarms, tables, named queries), and nothing in common
    for (const type of [
      'AWS::Glue::Database',
      'AWS::Athena::WorkGroup',
      'AWS::CloudWatch::Dashboard',
      'AWS::StepFunctions::StateMachine',
      'AWS::Logs::LogGroup',
      'AWS::CloudWatch::Alarm',
    ]) {
      expect(a.some((n) => n.startsWith(`${type} `))).toBe(true);
      expect(b.some((n) => n.startsWith(`${type} `))).toBe(true);
    }
    expect(new Set(a).size).toBe(a.length);
    expect(a.filter((n) => b.includes(n))).toEqual([]);
  });

  it('keeps the default stack’s names, and puts the state machine’s logs under /aws/vendedlogs/', () => {
    // Act
    const [first] = synthTwo({ stackName: DEFAULT_STACK_NAME }, { stackName: 'Other' });
    const names = explicitNames(first?.template as TemplateJson, DEFAULT_STACK_NAME);

    // Assess
    expect(names).toEqual(
      expect.arrayContaining([
        'AWS::Glue::Database datadog_usage',
        'AWS::Athena::WorkGroup datadog-usage',
        'AWS::CloudWatch::Dashboard DatadogUsageLake',
        'AWS::StepFunctions::StateMachine DatadogUsageLake-pipeline',
        'AWS::Logs::LogGroup /aws/vendedlogs/states/DatadogUsageLake-pipeline',
        'AWS::CloudWatch::Alarm DatadogUsageLake-ExecutionsFailed',
      ]),
    );
  });

  it.each([
    [{ stackName: '9lives' }, /stackName must be a CloudFormation stack name/],
    [{ stackName: 'a_b' }, /stackName must be a CloudFormation stack name/],
    [{ stackName: 'x'.repeat(49) }, /stackName must be a CloudFormation stack name/],
  ])('refuses %j as a stack name', (raw, message) => {
    expect(() => parseSettings(raw)).toThrow(message);
  });
});
