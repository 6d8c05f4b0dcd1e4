import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { parseSettings } from '../../infra/config.ts';
import { definitionsFromTemplate, synthesizeStack, taskStateNames } from '../../infra/definition.ts';
import { STATE } from '../../infra/state-names.ts';
import { CATEGORY_NAMES } from '../../lambdas/categories.ts';

const settings = parseSettings({
  prefix: 'dd',
  accounts: [
    { name: 'main', secretName: 'dd/main', site: 'datadoghq.com' },
    { name: 'eu', secretName: 'dd/eu', site: 'datadoghq.eu' },
  ],
  mapConcurrency: 3,
  windowConcurrency: 5,
});
const { stack, template } = synthesizeStack(settings);
const { pipeline: definition, window: windowDefinition } = definitionsFromTemplate(template);

type State = Record<string, unknown> & {
  ItemProcessor?: { StartAt: string; States: Record<string, State>; ProcessorConfig?: { Mode?: string } };
};
const states = definition.States as Record<string, State>;
const groupStates = states[STATE.groups]?.ItemProcessor?.States ?? {};
const windowStates = groupStates[STATE.windows]?.ItemProcessor?.States ?? {};
const windowMachine = windowDefinition as { StartAt: string; States: Record<string, State> };

describe('Stack: functions from the registry', () => {
  it('creates one function per category plus plan and summarize, on Node 24 ARM64 with JSON logs and X-Ray', () => {
    template.resourceCountIs('AWS::Lambda::Function', CATEGORY_NAMES.length + 2);
    template.allResourcesProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      TracingConfig: { Mode: 'Active' },
      Architectures: ['arm64'],
      LoggingConfig: Match.objectLike({ LogFormat: 'JSON' }),
    });
    for (const name of CATEGORY_NAMES) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.stringLikeRegexp(`\\(/api/v[12]/.*\\) into s3://…/dd/${name}/`),
      });
    }
  });

  it('gives every function log group a retention period', () => {
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: Match.anyValue() });
  });

  it('scopes each fetch function to its own category prefix and the accounts secrets', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    for (const name of CATEGORY_NAMES) {
      const policy = policies.find((p) =>
        JSON.stringify(p.Properties.Roles).includes(`Fetch${name.replace(/_/g, '')}`),
      );
      const text = JSON.stringify(policy?.Properties.PolicyDocument);
      expect(text).toContain(`/dd/${name}/*`);
      for (const other of CATEGORY_NAMES.filter((c) => c !== name))
        expect(text).not.toContain(`/dd/${other}/*`);
      expect(text).toContain('secret:dd/main-??????');
      expect(text).toContain('secret:dd/eu-??????');
      // The only unscoped statement is X-Ray's, which has no resource-level permissions.
      const statements = policy?.Properties.PolicyDocument.Statement as Array<{
        Action: string[];
        Resource: unknown;
      }>;
      for (const st of statements.filter((x) => x.Resource === '*')) {
        expect(st.Action.every((a) => a.startsWith('xray:'))).toBe(true);
      }
    }
  });

  it('blocks public access, enforces TLS, encrypts and versions the bucket', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: Match.anyValue(),
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            NoncurrentVersionExpiration: { NoncurrentDays: 30 },
            ExpiredObjectDeleteMarker: true,
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('passes accounts, bucket and prefix to the functions through the environment', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          DATA_PREFIX: 'dd',
          DD_ACCOUNTS: JSON.stringify(settings.accounts),
          DATA_BUCKET: Match.anyValue(),
        }),
      },
    });
  });
});

describe('Stack: the state machine', () => {
  it('is a Standard state machine logging ALL with tracing', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
      TracingConfiguration: { Enabled: true },
    });
  });

  it('plans, maps over groups (distributed) then window indexes with the configured concurrency, and summarizes', () => {
    expect(definition.StartAt).toBe(STATE.plan);
    expect(states[STATE.plan]?.Next).toBe(STATE.groups);
    expect(states[STATE.groups]).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.groups',
      MaxConcurrency: 3,
      ResultPath: null,
      ItemProcessor: {
        ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
        StartAt: STATE.indexes,
      },
    });
    expect(states[STATE.groups]?.Next).toBe(STATE.summarize);
    expect(groupStates[STATE.indexes]).toMatchObject({
      Type: 'Pass',
      Parameters: { 'value.$': 'States.ArrayRange(0, $.last, 1)' },
      ResultPath: '$.indexes',
      Next: STATE.windows,
    });
    expect(groupStates[STATE.windows]).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.indexes.value',
      MaxConcurrency: 5,
      Next: STATE.summarizeGroup,
    });
    expect(groupStates[STATE.windows]?.ItemProcessor?.ProcessorConfig?.Mode ?? 'INLINE').toBe('INLINE');
    expect(groupStates[STATE.summarizeGroup]).toMatchObject({ Type: 'Task', End: true });
  });

  it('routes every category to its own function and loops on more/wait while the budget lasts, then continues elsewhere', () => {
    for (const loop of [windowStates, windowMachine.States]) {
      const route = loop[STATE.route] as { Choices: Array<{ StringEquals: string; Next: string }> };
      expect(route.Choices.map((c) => c.StringEquals).sort()).toEqual([...CATEGORY_NAMES].sort());
      for (const c of route.Choices) expect(c.Next).toBe(STATE.fetch(c.StringEquals as never));
      const underBudget = { Variable: '$.invocationsHere', NumericLessThanPath: '$.budget' };
      expect((loop[STATE.check] as { Choices: unknown }).Choices).toEqual([
        { And: [{ Variable: '$.status', StringEquals: 'wait' }, underBudget], Next: STATE.pause },
        { And: [{ Variable: '$.status', StringEquals: 'more' }, underBudget], Next: STATE.route },
        {
          Or: [
            { Variable: '$.status', StringEquals: 'wait' },
            { Variable: '$.status', StringEquals: 'more' },
          ],
          Next: STATE.continueWindow,
        },
      ]);
      // Waits exactly until the rate limit's window ends.
      expect(loop[STATE.pause]).toMatchObject({
        Type: 'Wait',
        TimestampPath: '$.waitUntil',
        Next: STATE.route,
      });
      expect(loop[STATE.continueWindow]).toMatchObject({
        Type: 'Task',
        Resource: 'arn:aws:states:::states:startExecution.sync:2',
        Parameters: {
          'Input.$': '$',
          StateMachineArn: expect.stringMatching(/:stateMachine:DatadogUsageLake-window$/),
        },
        OutputPath: '$.Output',
        End: true,
      });
      // Each fetch is told the execution and the budget derived for it.
      const fetch = loop[STATE.fetch('hourly_usage')] as { Parameters: { Payload: unknown } };
      expect(fetch.Parameters.Payload).toEqual({
        'item.$': '$',
        execution: {
          'id.$': '$$.Execution.Id',
          budget: loop === windowStates ? stack.pipeline.budgets.group : stack.pipeline.budgets.window,
        },
      });
    }
    // A window execution starts with the wait its window was handed over in, when there is one.
    expect(windowMachine.StartAt).toBe(STATE.resume);
    expect(windowMachine.States[STATE.resume]).toMatchObject({
      Choices: [{ Variable: '$.status', StringEquals: 'wait', Next: STATE.pause }],
      Default: STATE.route,
    });
  });

  it('retries transient errors by name and catches every failure into a window result', () => {
    const fetch = windowStates[STATE.fetch('hourly_usage')] as {
      Retry: Array<{ ErrorEquals: string[] }>;
      Catch: Array<{ ErrorEquals: string[]; Next: string; ResultPath: string }>;
    };
    expect(fetch.Retry.flatMap((r) => r.ErrorEquals)).toEqual(
      expect.arrayContaining(['DatadogUnavailableError', 'StorageError', 'Lambda.ServiceException']),
    );
    expect(fetch.Catch).toEqual([{ ErrorEquals: ['States.ALL'], Next: STATE.failed, ResultPath: '$.error' }]);
  });

  it("gives every Task its function's timeout, so Step Functions and Lambda end an invocation together", () => {
    // Prepare: each function's timeout, by the logical id the definition's ARN names
    const functions = template.findResources('AWS::Lambda::Function');
    const timeoutOf = (arn: string) => functions[arn.split(':function:')[1] ?? '']?.Properties.Timeout;

    // Act
    const tasks = [...Object.entries(states), ...Object.entries(groupStates), ...Object.entries(windowStates)]
      .filter(([, s]) => s.Type === 'Task' && String(s.Resource).includes(':lambda:'))
      .map(([name, s]) => ({
        name,
        timeout: s.TimeoutSeconds,
        function: timeoutOf(String((s.Parameters as { FunctionName?: string })?.FunctionName ?? '')),
      }));

    // Assess
    expect(tasks.map((t) => t.name).sort()).toEqual(
      taskStateNames(definition)
        .filter((n) => n !== STATE.continueWindow)
        .sort(),
    );
    for (const t of tasks) {
      expect(t.function, t.name).toBeGreaterThan(0);
      expect(t.timeout, t.name).toBe(t.function);
    }
  });

  it('uses only what the local interpreter runs: JSONPath, one distributed Map without ItemReader or ResultWriter, no ResultPath "$", no null but its ResultPath', () => {
    const text = JSON.stringify(definition);
    expect(text).not.toContain('JSONata');
    expect(text).not.toContain('ItemReader');
    expect(text).not.toContain('ResultWriter');
    expect(text).not.toContain('"ResultPath":"$"');
    expect(text.match(/DISTRIBUTED/g)).toHaveLength(1);
    expect(states[STATE.groups]?.ItemProcessor?.ProcessorConfig?.Mode).toBe('DISTRIBUTED');
    // The one null: the distributed Map discards its results (they go to S3).
    expect(states[STATE.groups]).toHaveProperty('ResultPath', null);
    const withoutDiscard = structuredClone(definition) as { States: Record<string, State> };
    delete withoutDiscard.States[STATE.groups]?.ResultPath;
    expect(JSON.stringify(withoutDiscard)).not.toContain(':null');
    expect(text.match(/:null/g)).toHaveLength(1);
    expect(taskStateNames(definition).sort()).toEqual(
      [
        STATE.plan,
        STATE.summarizeGroup,
        STATE.groupFailed,
        STATE.summarize,
        STATE.continueWindow,
        ...CATEGORY_NAMES.map(STATE.fetch),
      ].sort(),
    );
    const windowText = JSON.stringify(windowDefinition);
    expect(windowText).not.toMatch(/JSONata|ItemReader|ResultWriter|DISTRIBUTED|"ResultPath":"\$"|:null/);
    expect(taskStateNames(windowDefinition).sort()).toEqual(
      [STATE.continueWindow, ...CATEGORY_NAMES.map(STATE.fetch)].sort(),
    );
  });
});

describe('Stack: the state machine when things fail', () => {
  type Catcher = { ErrorEquals: string[]; Next: string; ResultPath: string };

  it('never fails the map run for a failed group: tolerates every child failure, and a Catch still leads to Summarize run', () => {
    expect(states[STATE.groups]).toMatchObject({
      ToleratedFailurePercentage: 100,
      Catch: [{ ErrorEquals: ['States.ALL'], Next: STATE.summarize, ResultPath: '$.groupsError' }],
    });
  });

  it('records a group whose window Map or summary fails as failed windows, through the summarize function', () => {
    for (const name of [STATE.windows, STATE.summarizeGroup]) {
      expect((groupStates[name] as { Catch: Catcher[] }).Catch).toEqual([
        { ErrorEquals: ['States.ALL'], Next: STATE.groupFailed, ResultPath: '$.groupError' },
      ]);
    }
    expect(groupStates[STATE.groupFailed]).toMatchObject({
      Type: 'Task',
      End: true,
      Parameters: {
        Payload: {
          mode: 'group-failed',
          'start.$': '$.start',
          'last.$': '$.last',
          'error.$': '$.groupError',
        },
      },
    });
  });

  it('gives Summarize run every planned group, so a group that left no record is reported', () => {
    expect(states[STATE.summarize]).toMatchObject({
      Parameters: { Payload: { mode: 'run', 'planned.$': '$.groups' } },
      End: true,
    });
  });

  it('retries Lambda throttling, with jitter, on every Lambda call', () => {
    for (const name of taskStateNames(definition).filter((n) => n !== STATE.continueWindow)) {
      const task = [states, groupStates, windowStates].map((s) => s[name]).find(Boolean) as {
        Retry: Array<{ ErrorEquals: string[]; JitterStrategy?: string }>;
      };
      const retrier = task.Retry.find((r) => r.ErrorEquals.includes('Lambda.TooManyRequestsException'));
      expect(retrier, name).toMatchObject({ JitterStrategy: 'FULL', MaxDelaySeconds: 60 });
      expect(task.Retry.flatMap((r) => r.ErrorEquals)).toContain('Lambda.ServiceException');
    }
  });
});

describe('Function: parseSettings', () => {
  it.each([
    [{ prefix: '../x' }, /prefix must be a safe S3 prefix/],
    [{ categories: ['nope'] }, /categories must list categories/],
    [{ mapConcurrency: 0 }, /mapConcurrency must be an integer from 1 to 1000/],
    [{ accounts: [{ name: 'A/B', secretName: 's', site: 'datadoghq.com' }] }, /accounts\[0\]\.name must be/],
    [{ accounts: [{ name: 'a', secretName: 's', site: 'example.com' }] }, /accounts\[0\]\.site must be/],
  ])('refuses %j with a message naming the setting', (raw, message) => {
    expect(() => parseSettings(raw)).toThrow(message);
  });
});
