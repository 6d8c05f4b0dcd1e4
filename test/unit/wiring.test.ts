import type { CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { parseSettings } from '../../infra/config.ts';
import { synthesizeStack } from '../../infra/definition.ts';
import { CATEGORY_NAMES } from '../../lambdas/categories.ts';
import {
  ACCOUNT,
  type Call,
  type Decision,
  decide,
  OTHER_ACCOUNT,
  REGION,
  ResolvedTemplate,
  session,
  type TemplateJson,
} from '../support/template-iam.ts';

/**
 * Every AWS call the deployed system makes at run time, evaluated with a real IAM policy evaluator
 * (@cloud-copilot/iam-simulate) against the synthesized template's identity policies, resource
 * policies (bucket, queue, topic, role trust) and KMS key policy.
 */
const settings = parseSettings({
  prefix: 'dd',
  accounts: [
    { name: 'main', secretName: 'dd/main', site: 'datadoghq.com' },
    { name: 'eu', secretName: 'dd/eu', site: 'datadoghq.eu' },
  ],
  alarmEmail: 'finops@example.com',
});
const { stack, template } = synthesizeStack(settings);
const t = new ResolvedTemplate(template.toJSON() as TemplateJson, stack.stackName);
const id = (c: IConstruct) => stack.getLogicalId(c.node.defaultChild as CfnElement);
const roleOf = (c: IConstruct & { role?: IConstruct }) => {
  if (!c.role) throw new Error(`${c.node.path} has no role`);
  return id(c.role);
};

const TLS = { 'aws:SecureTransport': 'true' };
const bucketId = id(stack.bucket);
const bucket = t.name(bucketId);
const bucketPolicy = t.resourcePolicy(bucketId);
const [keyId] = t.ofType('AWS::KMS::Key') as [string];
const keyArn = t.arn(keyId);
const keyPolicy = t.resourcePolicy(keyId);
const stateMachine = stack.pipeline.stateMachine;
const stateMachineId = id(stateMachine);
const stateMachineArn = t.arn(stateMachineId);
const stateMachineRole = roleOf(stateMachine);
const summarize = stack.node.findChild('Summarize').node.findChild('Function') as IConstruct & {
  role?: IConstruct;
};
const plan = stack.node.findChild('Plan').node.findChild('Function') as IConstruct & { role?: IConstruct };

interface Expectation {
  label: string;
  call: Call;
  expected: Decision | 'Denied';
}

/** Evaluates every call and returns the ones whose decision differs, with the decision. */
async function mismatches(expectations: Expectation[]): Promise<string[]> {
  const out: string[] = [];
  for (const e of expectations) {
    const { decision, ignoredContextKeys } = await decide(e.call);
    const ok = e.expected === 'Denied' ? decision !== 'Allowed' : decision === e.expected;
    if (!ok) {
      const ignored = ignoredContextKeys.length > 0 ? ` (context keys ignored: ${ignoredContextKeys})` : '';
      out.push(`${e.label}: expected ${e.expected}, got ${decision}${ignored}`);
    }
  }
  return out;
}

function asRole(roleId: string, action: string, resource: string, extra: Partial<Call> = {}): Call {
  return {
    principal: session(t, roleId),
    action,
    resource,
    identityPolicies: t.identityPolicies(roleId),
    ...extra,
  };
}

describe('Wiring: every run-time AWS call, evaluated against the synthesized policies', () => {
  it('Scheduler → StartExecution of the state machine, and → its encrypted dead-letter queue', async () => {
    // Prepare
    const schedules = t.ofType('AWS::Scheduler::Schedule');
    expect(schedules.length).toBeGreaterThan(0);
    const expectations: Expectation[] = [];
    for (const scheduleId of schedules) {
      const target = t.resource(scheduleId).Properties?.Target as {
        Arn: string;
        RoleArn: never;
        DeadLetterConfig: { Arn: never };
      };
      const roleId = ResolvedTemplate.target(target.RoleArn) as string;
      const queueId = ResolvedTemplate.target(target.DeadLetterConfig.Arn) as string;
      const queue = t.arn(queueId);
      const kmsViaSqs = { 'kms:ViaService': `sqs.${REGION}.amazonaws.com`, 'kms:CallerAccount': ACCOUNT };
      expect(t.resolve(target.Arn)).toBe(stateMachineArn);
      expectations.push(
        {
          label: `${scheduleId}: scheduler.amazonaws.com assumes its role`,
          call: {
            principal: 'scheduler.amazonaws.com',
            action: 'sts:AssumeRole',
            resource: t.arn(roleId),
            resourcePolicy: t.trustPolicy(roleId),
            context: {
              'aws:SourceAccount': ACCOUNT,
              'aws:SourceArn': `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule-group/default`,
            },
          },
          expected: 'Allowed',
        },
        {
          label: `${scheduleId}: states:StartExecution`,
          call: asRole(roleId, 'states:StartExecution', stateMachineArn),
          expected: 'Allowed',
        },
        {
          label: `${scheduleId}: sqs:SendMessage to the dead-letter queue`,
          call: asRole(roleId, 'sqs:SendMessage', queue, {
            resourcePolicy: t.resourcePolicy(queueId),
            context: TLS,
          }),
          expected: 'Allowed',
        },
        ...['kms:GenerateDataKey', 'kms:Decrypt'].map((action) => ({
          label: `${scheduleId}: ${action} on the dead-letter queue's key (through SQS)`,
          call: asRole(roleId, action, keyArn, {
            resourcePolicy: keyPolicy,
            context: { ...TLS, ...kmsViaSqs },
          }),
          expected: 'Allowed' as const,
        })),
        {
          label: `${scheduleId}: sqs:SendMessage without TLS`,
          call: asRole(roleId, 'sqs:SendMessage', queue, {
            resourcePolicy: t.resourcePolicy(queueId),
            context: { 'aws:SecureTransport': 'false' },
          }),
          expected: 'ExplicitlyDenied',
        },
      );
    }

    // Act / Assess
    expect(await mismatches(expectations)).toEqual([]);
  });

  it('Step Functions → assumes only its own role, invokes each function, starts and redrives its own children', async () => {
    // Prepare
    const functions = t.ofType('AWS::Lambda::Function');
    expect(functions).toHaveLength(CATEGORY_NAMES.length + 2);
    const trust = (sourceArn: string): Call => ({
      principal: 'states.amazonaws.com',
      action: 'sts:AssumeRole',
      resource: t.arn(stateMachineRole),
      resourcePolicy: t.trustPolicy(stateMachineRole),
      context: { 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': sourceArn },
    });
    const childExecution = `arn:aws:states:${REGION}:${ACCOUNT}:execution:${t.name(stateMachineId)}/For each group:0f9d5f7e-5a7b-4a0c-8d55-5d0b3d1e2f10`;
    const windowName = `${stack.stackName}-window`;
    const windowArn = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${windowName}`;
    const windowExecution = `arn:aws:states:${REGION}:${ACCOUNT}:execution:${windowName}:3b7e0a4c-2d1f-4e6a-9c8b-1a2b3c4d5e6f`;
    expect(t.ofType('AWS::StepFunctions::StateMachine').map((m) => t.name(m))).toContain(windowName);
    const expectations: Expectation[] = [
      {
        label: 'states.amazonaws.com assumes the role for this state machine',
        call: trust(stateMachineArn),
        expected: 'Allowed',
      },
      {
        label: 'states.amazonaws.com assumes the role for its distributed Map’s children',
        call: trust(`${stateMachineArn}/b0c9d0e4-8f3a-4c1e-9a57-3c2d1e0f9a8b`),
        expected: 'Allowed',
      },
      {
        label: 'states.amazonaws.com assumes the role for another state machine of the account',
        call: trust(`arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:SomeoneElses`),
        expected: 'Denied',
      },
      ...functions.map((fn) => ({
        label: `lambda:InvokeFunction ${fn}`,
        call: asRole(stateMachineRole, 'lambda:InvokeFunction', t.arn(fn)),
        expected: 'Allowed' as const,
      })),
      {
        label: 'states:StartExecution of its own children (distributed Map)',
        call: asRole(stateMachineRole, 'states:StartExecution', stateMachineArn),
        expected: 'Allowed',
      },
      {
        label: 'states:RedriveExecution of its own children (redrive)',
        call: asRole(stateMachineRole, 'states:RedriveExecution', childExecution),
        expected: 'Allowed',
      },
      {
        label: 'states.amazonaws.com assumes the role for the window state machine',
        call: trust(windowArn),
        expected: 'Allowed',
      },
      {
        label:
          'states:StartExecution of the window state machine (a window that outgrows its group, or itself)',
        call: asRole(stateMachineRole, 'states:StartExecution', windowArn),
        expected: 'Allowed',
      },
      ...['states:DescribeExecution', 'states:StopExecution'].map((action) => ({
        label: `${action} of a window execution (startExecution.sync)`,
        call: asRole(stateMachineRole, action, windowExecution),
        expected: 'Allowed' as const,
      })),
      ...['events:PutTargets', 'events:PutRule', 'events:DescribeRule'].map((action) => ({
        label: `${action} on Step Functions' managed rule for .sync executions`,
        call: asRole(
          stateMachineRole,
          action,
          `arn:aws:events:${REGION}:${ACCOUNT}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule`,
        ),
        expected: 'Allowed' as const,
      })),
      {
        label: 'states:StartExecution of another state machine',
        call: asRole(
          stateMachineRole,
          'states:StartExecution',
          `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:SomeoneElses`,
        ),
        expected: 'Denied',
      },
    ];

    // Act / Assess
    expect(await mismatches(expectations)).toEqual([]);
  });

  it('each fetch function → S3 inside its own category prefix only, over TLS, and → its accounts’ secrets only', async () => {
    // Prepare
    const expectations: Expectation[] = [];
    for (const category of CATEGORY_NAMES) {
      const fn = stack.fetchFunctions[category];
      if (!fn) throw new Error(`no function for ${category}`);
      const role = roleOf(fn);
      const s3 = (action: string, key: string, context: Record<string, string> = TLS) =>
        asRole(role, action, `arn:aws:s3:::${bucket}/${key}`, { resourcePolicy: bucketPolicy, context });
      const list = (prefix: string) =>
        asRole(role, 's3:ListBucket', `arn:aws:s3:::${bucket}`, {
          resourcePolicy: bucketPolicy,
          context: { ...TLS, 's3:prefix': prefix },
        });
      // Anything inside <prefix>/<category>/, whatever the layout under it (partitions, commit records).
      const inside = [
        `dd/${category}/account=main/day=2026-09-01/part-00000.json.gz`,
        `dd/${category}/account=eu/month=2026-09/_manifest.json`,
        `dd/${category}/commits/account=main/2026-09-01.json`,
        `dd/${category}/any/depth/of/keys.bin`,
      ];
      const other = CATEGORY_NAMES.find((c) => c !== category) as string;
      const outside = [
        `dd/${other}/account=main/day=2026-09-01/part-00000.json.gz`,
        'dd/_runs/run=x/output.json',
        'dd/_ratelimit/nobody.json',
        `dd/${category}-shadow/part-00000.json.gz`,
        `elsewhere/${category}/part-00000.json.gz`,
        `${category}/account=main/part-00000.json.gz`,
      ];
      for (const key of inside) {
        for (const action of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']) {
          expectations.push({
            label: `${category}: ${action} ${key}`,
            call: s3(action, key),
            expected: 'Allowed',
          });
        }
      }
      for (const key of outside) {
        for (const action of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']) {
          expectations.push({
            label: `${category}: ${action} ${key}`,
            call: s3(action, key),
            expected: 'Denied',
          });
        }
      }
      // The accounts' rate-limit ledgers, shared by every category: read and written, never deleted.
      for (const account of settings.accounts) {
        const ledger = `dd/_ratelimit/${account.name}.json`;
        for (const action of ['s3:GetObject', 's3:PutObject']) {
          expectations.push({
            label: `${category}: ${action} ${ledger}`,
            call: s3(action, ledger),
            expected: 'Allowed',
          });
        }
        expectations.push({
          label: `${category}: DeleteObject ${ledger}`,
          call: s3('s3:DeleteObject', ledger),
          expected: 'Denied',
        });
      }
      expectations.push(
        {
          label: `${category}: list its prefix`,
          call: list(`dd/${category}/account=main/`),
          expected: 'Allowed',
        },
        { label: `${category}: list another prefix`, call: list(`dd/${other}/`), expected: 'Denied' },
        { label: `${category}: list the bucket root`, call: list(''), expected: 'Denied' },
        {
          label: `${category}: PutObject without TLS`,
          call: s3('s3:PutObject', inside[0] as string, { 'aws:SecureTransport': 'false' }),
          expected: 'ExplicitlyDenied',
        },
      );
      const secret = (name: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-AbC123`;
      for (const account of settings.accounts) {
        expectations.push({
          label: `${category}: GetSecretValue ${account.secretName}`,
          call: asRole(role, 'secretsmanager:GetSecretValue', secret(account.secretName)),
          expected: 'Allowed',
        });
      }
      expectations.push(
        {
          label: `${category}: GetSecretValue of a secret no account names`,
          call: asRole(role, 'secretsmanager:GetSecretValue', secret('dd/other')),
          expected: 'Denied',
        },
        {
          label: `${category}: GetSecretValue of a secret whose name extends an account's`,
          call: asRole(role, 'secretsmanager:GetSecretValue', secret('dd/main-extra')),
          expected: 'Denied',
        },
        {
          label: `${category}: DescribeSecret (not needed)`,
          call: asRole(role, 'secretsmanager:DescribeSecret', secret('dd/main')),
          expected: 'Denied',
        },
      );
    }

    // Act / Assess
    expect(await mismatches(expectations)).toEqual([]);
  });

  it('Summarize → its run records under <prefix>/_runs/ only; Plan → no S3 at all', async () => {
    // Prepare
    const role = roleOf(summarize);
    const s3 = (r: string, action: string, key: string) =>
      asRole(r, action, `arn:aws:s3:::${bucket}/${key}`, { resourcePolicy: bucketPolicy, context: TLS });
    const expectations: Expectation[] = [
      ...['s3:GetObject', 's3:PutObject'].map((action) => ({
        label: `summarize: ${action} a group record`,
        call: s3(role, action, 'dd/_runs/run=backfill-1/groups/main/hourly_usage/2026-09-01.json'),
        expected: 'Allowed' as const,
      })),
      {
        label: 'summarize: list the run',
        call: asRole(role, 's3:ListBucket', `arn:aws:s3:::${bucket}`, {
          resourcePolicy: bucketPolicy,
          context: { ...TLS, 's3:prefix': 'dd/_runs/run=backfill-1/groups/' },
        }),
        expected: 'Allowed',
      },
      {
        label: 'summarize: PutObject into a category',
        call: s3(role, 's3:PutObject', 'dd/hourly_usage/account=main/day=2026-09-01/part-00000.json.gz'),
        expected: 'Denied',
      },
      {
        label: 'plan: GetObject anywhere',
        call: s3(roleOf(plan), 's3:GetObject', 'dd/_runs/run=backfill-1/output.json'),
        expected: 'Denied',
      },
    ];

    // Act / Assess
    expect(await mismatches(expectations)).toEqual([]);
  });

  it('CloudWatch alarms → publish to the encrypted alarm topic; nobody else may', async () => {
    // Prepare
    const [topicId] = t.ofType('AWS::SNS::Topic') as [string];
    const topic = t.arn(topicId);
    const topicPolicy = t.resourcePolicy(topicId);
    const alarms = t
      .ofType('AWS::CloudWatch::Alarm')
      .filter((a) =>
        ((t.resource(a).Properties?.AlarmActions ?? []) as never[]).some(
          (x) => ResolvedTemplate.target(x) === topicId,
        ),
      );
    expect(alarms.length).toBe(t.ofType('AWS::CloudWatch::Alarm').length);
    const fromAlarm = (alarmArn: string, sourceAccount = ACCOUNT) => ({
      ...TLS,
      'aws:SourceAccount': sourceAccount,
      'aws:SourceArn': alarmArn,
    });
    const expectations: Expectation[] = [];
    for (const alarm of alarms) {
      const context = fromAlarm(t.arn(alarm));
      expectations.push(
        {
          label: `${alarm}: sns:Publish`,
          call: {
            principal: 'cloudwatch.amazonaws.com',
            action: 'sns:Publish',
            resource: topic,
            resourcePolicy: topicPolicy,
            context,
          },
          expected: 'Allowed',
        },
        ...['kms:GenerateDataKey', 'kms:Decrypt'].map((action) => ({
          label: `${alarm}: ${action} on the topic's key`,
          call: {
            principal: 'cloudwatch.amazonaws.com',
            action,
            resource: keyArn,
            resourcePolicy: keyPolicy,
            context,
          },
          expected: 'Allowed' as const,
        })),
      );
    }
    const foreignAlarm = `arn:aws:cloudwatch:${REGION}:${OTHER_ACCOUNT}:alarm:anything`;
    expectations.push(
      {
        label: "another account's alarm: sns:Publish",
        call: {
          principal: 'cloudwatch.amazonaws.com',
          action: 'sns:Publish',
          resource: topic,
          resourcePolicy: topicPolicy,
          context: fromAlarm(foreignAlarm, OTHER_ACCOUNT),
        },
        expected: 'Denied',
      },
      ...['kms:GenerateDataKey', 'kms:Decrypt'].map((action) => ({
        label: `another account's alarm: ${action} on the topic's key`,
        call: {
          principal: 'cloudwatch.amazonaws.com',
          action,
          resource: keyArn,
          resourcePolicy: keyPolicy,
          context: fromAlarm(foreignAlarm, OTHER_ACCOUNT),
        },
        expected: 'Denied' as const,
      })),
      {
        label: 'another AWS account: sns:Publish',
        call: {
          principal: `arn:aws:iam::${OTHER_ACCOUNT}:root`,
          action: 'sns:Publish',
          resource: topic,
          resourcePolicy: topicPolicy,
          context: TLS,
          identityPolicies: [
            {
              name: 'their-admin',
              policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
            },
          ],
        },
        expected: 'Denied',
      },
      {
        label: 'an alarm publishing without TLS',
        call: {
          principal: 'cloudwatch.amazonaws.com',
          action: 'sns:Publish',
          resource: topic,
          resourcePolicy: topicPolicy,
          context: { ...fromAlarm(t.arn(alarms[0] as string)), 'aws:SecureTransport': 'false' },
        },
        expected: 'ExplicitlyDenied',
      },
    );

    // Act / Assess
    expect(await mismatches(expectations)).toEqual([]);
  });

  it('each function → its own log group only', async () => {
    // Prepare
    const functions = t.ofType('AWS::Lambda::Function');
    const logGroupOf = (fn: string) =>
      t.name(
        ResolvedTemplate.target(
          (t.resource(fn).Properties?.LoggingConfig as Record<string, never> | undefined)?.LogGroup,
        ) as string,
      );
    const expectations: Expectation[] = [];
    functions.forEach((fn, i) => {
      const role = ResolvedTemplate.target(t.resource(fn).Properties?.Role as never) as string;
      const stream = (group: string) =>
        `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${group}:log-stream:2026/11/30/[$LATEST]0123abcd`;
      const own = logGroupOf(fn);
      const other = logGroupOf(functions[(i + 1) % functions.length] as string);
      for (const action of ['logs:CreateLogStream', 'logs:PutLogEvents']) {
        expectations.push(
          {
            label: `${fn}: ${action} in ${own}`,
            call: asRole(role, action, stream(own)),
            expected: 'Allowed',
          },
          {
            label: `${fn}: ${action} in another function's ${other}`,
            call: asRole(role, action, stream(other)),
            expected: 'Denied',
          },
        );
      }
    });

    // Act / Assess
    expect(await mismatches(expectations)).toEqual([]);
  });
});
