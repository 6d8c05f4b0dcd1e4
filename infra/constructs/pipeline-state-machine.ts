import { Duration } from 'aws-cdk-lib';
import { type IFunction, Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  Choice,
  Condition,
  DefinitionBody,
  DistributedMap,
  JsonPath,
  LogLevel,
  Map as MapState,
  Pass,
  StateMachine,
  StateMachineType,
  TaskInput,
  Timeout,
  Wait,
  WaitTime,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { CategoryName } from '../../lambdas/categories.ts';
import { INITIAL_PROGRESS } from '../../lambdas/core/work-item.ts';

export interface PipelineStateMachineProps {
  planFunction: IFunction;
  summarizeFunction: IFunction;
  /** One fetch function per enabled category. */
  fetchFunctions: Partial<Record<CategoryName, IFunction>>;
  /** (account, category) groups in flight at once. */
  mapConcurrency: number;
  /** Windows in flight at once within a group. */
  windowConcurrency: number;
  logRetention?: RetentionDays;
}

/** State names the local runner binds handlers to. */
export const STATE = {
  plan: 'Plan',
  groups: 'For each group',
  indexes: 'Window indexes',
  windows: 'For each window',
  route: 'Route by category',
  fetch: (category: CategoryName) => `Fetch ${category}`,
  check: 'Window done?',
  pause: 'Wait for rate limit',
  done: 'Window done',
  failed: 'Window failed',
  summarizeGroup: 'Summarize group',
  summarize: 'Summarize run',
} as const;

/** Errors worth another try from Step Functions after the function's own retries gave up. */
const TRANSIENT = ['DatadogUnavailableError', 'StorageError'];

/**
 * A Task's timeout: its function's own, so Step Functions and Lambda end an invocation at the same
 * moment, and the local interpreter (whose default is 60 s) behaves as deployed.
 */
function taskTimeout(fn: IFunction): { taskTimeout: Timeout } {
  const timeout = fn instanceof LambdaFunction ? fn.timeout : undefined;
  if (!timeout) throw new Error(`${fn.node.path}: the state machine needs the function's timeout`);
  return { taskTimeout: Timeout.duration(timeout) };
}

/**
 * Plan → distributed Map over groups (up to 8 consecutive windows of one account and category, each
 * a child execution) → inline Map over the group's windows → per window: invoke the category's
 * function until it says done, waiting in a Wait state when the rate limit says so → summarize each
 * group into S3 → summarize the run from S3. JSONPath only and no ItemReader/ResultWriter, so the same
 * definition runs in aws-local-stepfunctions.
 */
export class PipelineStateMachine extends Construct {
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: PipelineStateMachineProps) {
    super(scope, id);

    const plan = new LambdaInvoke(this, STATE.plan, {
      lambdaFunction: props.planFunction,
      payload: TaskInput.fromObject({
        input: JsonPath.entirePayload,
        executionId: JsonPath.stringAt('$$.Execution.Id'),
        executionName: JsonPath.stringAt('$$.Execution.Name'),
        executionStart: JsonPath.stringAt('$$.Execution.StartTime'),
      }),
      outputPath: '$.Payload',
      ...taskTimeout(props.planFunction),
    });

    const route = new Choice(this, STATE.route);
    const check = new Choice(this, STATE.check);
    const pause = new Wait(this, STATE.pause, { time: WaitTime.secondsPath('$.waitSeconds') });
    const done = new Pass(this, STATE.done, {
      parameters: {
        index: JsonPath.numberAt('$.index'),
        status: 'done',
        pages: JsonPath.numberAt('$.part'),
        records: JsonPath.numberAt('$.records'),
        bytes: JsonPath.numberAt('$.bytes'),
        final: JsonPath.stringAt('$.final'),
        outcome: JsonPath.stringAt('$.outcome'),
      },
    });
    const failed = new Pass(this, STATE.failed, {
      parameters: {
        index: JsonPath.numberAt('$.index'),
        status: 'failed',
        pages: JsonPath.numberAt('$.part'),
        records: JsonPath.numberAt('$.records'),
        bytes: JsonPath.numberAt('$.bytes'),
        final: false,
        error: JsonPath.objectAt('$.error'),
      },
    });

    for (const [category, fn] of Object.entries(props.fetchFunctions) as Array<[CategoryName, IFunction]>) {
      const fetch = new LambdaInvoke(this, STATE.fetch(category), {
        lambdaFunction: fn,
        payload: TaskInput.fromJsonPathAt('$'),
        outputPath: '$.Payload',
        ...taskTimeout(fn),
      });
      fetch.addRetry({ errors: TRANSIENT, interval: Duration.seconds(10), backoffRate: 2, maxAttempts: 3 });
      // An invocation that ran out of time is safe to repeat: its pages stand, the retry follows them.
      fetch.addRetry({ errors: ['States.Timeout'], interval: Duration.seconds(5), maxAttempts: 2 });
      fetch.addCatch(failed, { resultPath: '$.error' });
      fetch.next(check);
      route.when(Condition.stringEquals('$.category', category), fetch);
    }
    route.otherwise(failed);
    check
      .when(Condition.stringEquals('$.status', 'wait'), pause.next(route))
      .when(Condition.stringEquals('$.status', 'more'), route)
      .otherwise(done);

    const indexes = new Pass(this, STATE.indexes, {
      parameters: { 'value.$': 'States.ArrayRange(0, $.last, 1)' },
      resultPath: '$.indexes',
    });

    const windows = new MapState(this, STATE.windows, {
      itemsPath: '$.indexes.value',
      maxConcurrency: props.windowConcurrency,
      itemSelector: {
        runId: JsonPath.stringAt('$.runId'),
        executionId: JsonPath.stringAt('$.executionId'),
        executionStart: JsonPath.stringAt('$.executionStart'),
        // The child execution's redrive count: a redriven window starts a fresh fetch.
        attempt: JsonPath.numberAt('$$.Execution.RedriveCount'),
        account: JsonPath.stringAt('$.account'),
        category: JsonPath.stringAt('$.category'),
        options: JsonPath.objectAt('$.options'),
        groupStart: JsonPath.stringAt('$.start'),
        index: JsonPath.numberAt('$$.Map.Item.Value'),
        ...INITIAL_PROGRESS,
      },
      resultPath: '$.results',
    });
    windows.itemProcessor(route);

    const summarizeGroup = new LambdaInvoke(this, STATE.summarizeGroup, {
      lambdaFunction: props.summarizeFunction,
      payload: TaskInput.fromObject({
        mode: 'group',
        runId: JsonPath.stringAt('$.runId'),
        account: JsonPath.stringAt('$.account'),
        category: JsonPath.stringAt('$.category'),
        start: JsonPath.stringAt('$.start'),
        results: JsonPath.listAt('$.results'),
      }),
      outputPath: '$.Payload',
      ...taskTimeout(props.summarizeFunction),
    });
    summarizeGroup.addRetry({
      errors: TRANSIENT,
      interval: Duration.seconds(5),
      backoffRate: 2,
      maxAttempts: 3,
    });

    // Each group is a child execution with its own history (a Distributed Map in AWS; the local
    // interpreter runs it inline). Results go to S3, so nothing flows back but success.
    const groups = new DistributedMap(this, STATE.groups, {
      itemsPath: '$.groups',
      maxConcurrency: props.mapConcurrency,
      mapExecutionType: StateMachineType.STANDARD,
      itemSelector: {
        runId: JsonPath.stringAt('$.runId'),
        executionId: JsonPath.stringAt('$.executionId'),
        executionStart: JsonPath.stringAt('$.executionStart'),
        options: JsonPath.objectAt('$.options'),
        account: JsonPath.stringAt('$$.Map.Item.Value.account'),
        category: JsonPath.stringAt('$$.Map.Item.Value.category'),
        start: JsonPath.stringAt('$$.Map.Item.Value.start'),
        last: JsonPath.numberAt('$$.Map.Item.Value.last'),
      },
      resultPath: JsonPath.DISCARD,
    });
    groups.itemProcessor(indexes.next(windows).next(summarizeGroup));

    const summarize = new LambdaInvoke(this, STATE.summarize, {
      lambdaFunction: props.summarizeFunction,
      payload: TaskInput.fromObject({
        mode: 'run',
        runId: JsonPath.stringAt('$.runId'),
        s3Url: JsonPath.stringAt('$.s3Url'),
        range: JsonPath.objectAt('$.range'),
        accounts: JsonPath.listAt('$.accounts'),
        categories: JsonPath.listAt('$.categories'),
        skipped: JsonPath.listAt('$.skipped'),
      }),
      outputPath: '$.Payload',
      ...taskTimeout(props.summarizeFunction),
    });

    summarize.addRetry({ errors: TRANSIENT, interval: Duration.seconds(5), backoffRate: 2, maxAttempts: 3 });

    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(plan.next(groups).next(summarize)),
      tracingEnabled: true,
      logs: {
        destination: new LogGroup(this, 'Logs', { retention: props.logRetention ?? RetentionDays.ONE_MONTH }),
        level: LogLevel.ALL,
        includeExecutionData: false,
      },
    });
  }
}
