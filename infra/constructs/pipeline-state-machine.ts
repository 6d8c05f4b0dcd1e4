import { ArnFormat, Duration, Lazy, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { type IFunction, Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  Choice,
  Condition,
  DefinitionBody,
  DistributedMap,
  IntegrationPattern,
  JitterType,
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
import {
  LambdaInvoke,
  StepFunctionsStartExecution,
  type StepFunctionsStartExecutionProps,
} from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { CategoryName } from '../../lambdas/categories.ts';
import { MAX_WINDOWS_PER_GROUP } from '../../lambdas/core/plan.ts';
import { INITIAL_PROGRESS } from '../../lambdas/core/work-item.ts';
import { invocationBudget, STEP_FUNCTIONS_LIMITS, type State as StateJson } from '../history-budget.ts';
import { STATE } from '../state-names.ts';

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
  /** Explicit, so the role's trust can name this state machine (and its Map's children) only. */
  stateMachineName: string;
  /** The execution log group (under /aws/vendedlogs/). */
  logGroupName: string;
  /** The state machine a window continues in when it outgrows its execution's history budget. */
  windowStateMachineName: string;
  windowLogGroupName: string;
}

const WINDOW_TIMEOUT = Duration.seconds(STEP_FUNCTIONS_LIMITS.windowSeconds);

/** Each function's timeout: its Task's too (the stack and local runs build from these). */
export const FUNCTION_TIMEOUTS = {
  fetch: Duration.minutes(5),
  plan: Duration.seconds(30),
  summarize: Duration.minutes(2),
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
 * Every Lambda call also waits out Lambda's own throttling (concurrency or burst limits), with jitter
 * so the groups in flight do not retry in step. CDK's default retrier already covers
 * Lambda.ServiceException, AWSLambdaException, SdkClientException and ClientExecutionTimeoutException.
 * A fetch runs up to 30 times per window, so its attempts count against the child's history bound
 * (infra/history-budget.ts); a window that stays throttled fails alone, caught like any other window failure.
 */
function retryLambdaThrottling(task: LambdaInvoke, maxAttempts = 6): void {
  task.addRetry({
    errors: ['Lambda.TooManyRequestsException'],
    interval: Duration.seconds(5),
    backoffRate: 2,
    maxAttempts,
    maxDelay: Duration.minutes(1),
    jitterStrategy: JitterType.FULL,
  });
}

/**
 * Plan → distributed Map over groups (up to 8 consecutive windows of one account and category, each
 * a child execution) → inline Map over the group's windows → per window: invoke the category's
 * function until it says done, waiting in a Wait state when the rate limit says so → summarize each
 * group into S3 → summarize the run from S3. JSONPath only and no ItemReader/ResultWriter, so the same
 * definition runs in aws-local-stepfunctions.
 */
/** A window's loop, built once per state machine that runs it. */
interface WindowLoop {
  /** Where the loop starts: routing the window to its category's function. */
  route: Choice;
  /** Where a window that continues in a fresh execution starts: a rate-limit wait first, when due. */
  resume?: Choice;
  /** Invocations one execution may make for a window, so its history stays bounded. */
  budget: number;
}

export class PipelineStateMachine extends Construct {
  readonly stateMachine: StateMachine;
  /** Where a window that outgrows its group's execution continues, one fresh execution at a time. */
  readonly windowStateMachine: StateMachine;
  /** Invocations per window: in a group's execution, and in a window execution. */
  readonly budgets: { group: number; window: number };

  constructor(scope: Construct, id: string, props: PipelineStateMachineProps) {
    super(scope, id);
    const role = this.role(props.stateMachineName, props.windowStateMachineName);

    // The window state machine continues a window in a fresh execution of itself when its budget is
    // spent: it names itself by its (explicit) name, not by a reference to its own resource.
    const windowScope = new Construct(this, 'Window');
    const self = StateMachine.fromStateMachineName(windowScope, 'Self', props.windowStateMachineName);
    const windowLoop = this.windowLoop(windowScope, props, self, 1, true);
    this.windowStateMachine = new StateMachine(windowScope, 'StateMachine', {
      stateMachineName: props.windowStateMachineName,
      role,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(windowLoop.resume ?? windowLoop.route),
      tracingEnabled: true,
      logs: this.logs(windowScope, props.windowLogGroupName, props.logRetention),
    });

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
    retryLambdaThrottling(plan);

    // By name as well: the role's policy may not refer to a state machine that depends on it.
    const groupLoop = this.windowLoop(this, props, self, MAX_WINDOWS_PER_GROUP);
    this.budgets = { group: groupLoop.budget, window: windowLoop.budget };

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
    windows.itemProcessor(groupLoop.route);

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
    retryLambdaThrottling(summarizeGroup);

    // A group that fails as a whole (its window Map, or its summary) becomes failed windows in S3: the
    // child execution still succeeds and the run summary lists them. If even that record cannot be
    // written, the child fails; the distributed Map tolerates it and the run summary reports every
    // planned group that left no record.
    const groupFailed = new LambdaInvoke(this, STATE.groupFailed, {
      lambdaFunction: props.summarizeFunction,
      payload: TaskInput.fromObject({
        mode: 'group-failed',
        runId: JsonPath.stringAt('$.runId'),
        account: JsonPath.stringAt('$.account'),
        category: JsonPath.stringAt('$.category'),
        start: JsonPath.stringAt('$.start'),
        last: JsonPath.numberAt('$.last'),
        error: JsonPath.objectAt('$.groupError'),
      }),
      outputPath: '$.Payload',
      ...taskTimeout(props.summarizeFunction),
    });
    groupFailed.addRetry({
      errors: TRANSIENT,
      interval: Duration.seconds(5),
      backoffRate: 2,
      maxAttempts: 3,
    });
    retryLambdaThrottling(groupFailed);
    windows.addCatch(groupFailed, { resultPath: '$.groupError' });
    summarizeGroup.addCatch(groupFailed, { resultPath: '$.groupError' });

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
      // A failed child never fails the map run (nor stops the groups in flight): the run summary
      // reports its windows. The Catch below is the local interpreter's path (it ignores tolerance)
      // and the last resort in AWS; either way Summarize run runs.
      toleratedFailurePercentage: 100,
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
        planned: JsonPath.listAt('$.groups'),
      }),
      outputPath: '$.Payload',
      ...taskTimeout(props.summarizeFunction),
    });

    summarize.addRetry({ errors: TRANSIENT, interval: Duration.seconds(5), backoffRate: 2, maxAttempts: 3 });
    retryLambdaThrottling(summarize);
    groups.addCatch(summarize, { resultPath: '$.groupsError' });

    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      role,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(plan.next(groups).next(summarize)),
      tracingEnabled: true,
      logs: this.logs(this, props.logGroupName, props.logRetention),
    });
  }

  private logs(scope: Construct, logGroupName: string, retention: RetentionDays | undefined) {
    return {
      destination: new LogGroup(scope, 'Logs', {
        logGroupName,
        retention: retention ?? RetentionDays.ONE_MONTH,
        // Named: a retained group would block the next deployment of a stack of the same name.
        removalPolicy: RemovalPolicy.DESTROY,
      }),
      level: LogLevel.ALL,
      includeExecutionData: false,
    };
  }

  /**
   * One window's loop: route to the category's function, invoke it until it says done, wait in a Wait
   * state until the rate limit's window ends when it says so. When the execution's budget of
   * invocations is spent, the window continues in a fresh execution of `continueIn`, whose result is
   * the window's. `windows` is how many windows the execution loops over at most (its history is
   * shared); the budget follows from it and from Step Functions' 25,000 events per execution.
   */
  private windowLoop(
    scope: Construct,
    props: PipelineStateMachineProps,
    continueIn: StepFunctionsStartExecutionProps['stateMachine'],
    windows: number,
    resumes = false,
  ): WindowLoop {
    const loop = { budget: 0 };
    const route = new Choice(scope, STATE.route);
    const check = new Choice(scope, STATE.check);
    const pause = new Wait(scope, STATE.pause, { time: WaitTime.timestampPath('$.waitUntil') });
    const done = new Pass(scope, STATE.done, {
      parameters: {
        index: JsonPath.numberAt('$.index'),
        status: 'done',
        pages: JsonPath.numberAt('$.pagesWritten'),
        records: JsonPath.numberAt('$.records'),
        bytes: JsonPath.numberAt('$.bytes'),
        final: JsonPath.stringAt('$.final'),
        outcome: JsonPath.stringAt('$.outcome'),
      },
    });
    const failed = new Pass(scope, STATE.failed, {
      parameters: {
        index: JsonPath.numberAt('$.index'),
        status: 'failed',
        pages: JsonPath.numberAt('$.pagesWritten'),
        records: JsonPath.numberAt('$.records'),
        bytes: JsonPath.numberAt('$.bytes'),
        final: false,
        error: JsonPath.objectAt('$.error'),
      },
    });
    // The fresh execution returns the window's result (done or failed) as its output.
    const continueWindow = new StepFunctionsStartExecution(scope, STATE.continueWindow, {
      stateMachine: continueIn,
      integrationPattern: IntegrationPattern.RUN_JOB,
      input: TaskInput.fromJsonPathAt('$'),
      outputPath: '$.Output',
      taskTimeout: Timeout.duration(WINDOW_TIMEOUT),
    });
    continueWindow.addCatch(failed, { resultPath: '$.error' });

    const tasks: LambdaInvoke[] = [];
    for (const [category, fn] of Object.entries(props.fetchFunctions) as Array<[CategoryName, IFunction]>) {
      const fetch = new LambdaInvoke(scope, STATE.fetch(category), {
        lambdaFunction: fn,
        payload: TaskInput.fromObject({
          item: JsonPath.entirePayload,
          execution: {
            id: JsonPath.stringAt('$$.Execution.Id'),
            budget: Lazy.number({ produce: () => loop.budget }),
          },
        }),
        outputPath: '$.Payload',
        ...taskTimeout(fn),
      });
      // An invocation that ran out of time is safe to repeat too: its pages stand, the retry follows them.
      fetch.addRetry({
        errors: [...TRANSIENT, 'States.Timeout'],
        interval: Duration.seconds(10),
        backoffRate: 2,
        maxAttempts: 3,
      });
      retryLambdaThrottling(fetch, 3);
      fetch.addCatch(failed, { resultPath: '$.error' });
      fetch.next(check);
      route.when(Condition.stringEquals('$.category', category), fetch);
      tasks.push(fetch);
    }
    route.otherwise(failed);
    const underBudget = Condition.numberLessThanJsonPath('$.invocationsHere', '$.budget');
    check
      .when(Condition.and(Condition.stringEquals('$.status', 'wait'), underBudget), pause.next(route))
      .when(Condition.and(Condition.stringEquals('$.status', 'more'), underBudget), route)
      .when(
        Condition.or(Condition.stringEquals('$.status', 'wait'), Condition.stringEquals('$.status', 'more')),
        continueWindow,
      )
      .otherwise(done);
    const resume = resumes
      ? new Choice(scope, STATE.resume)
          .when(Condition.stringEquals('$.status', 'wait'), pause)
          .otherwise(route)
      : undefined;

    const json = (state: { toStateJson(): object }) => state.toStateJson() as StateJson;
    loop.budget = invocationBudget({
      windows,
      iteration: [json(route), ...tasks.map(json), json(check), json(pause)],
      once: [...(resume ? [json(resume)] : []), json(continueWindow), json(done)],
    });
    return { route, resume, budget: loop.budget };
  }

  /**
   * Assumable by Step Functions for these state machines only: the pipeline's executions, its
   * distributed Map's children (whose state machine ARN is `<name>/<map run label>`) and the window
   * state machine's executions, not any other of the account's.
   */
  private role(name: string, windowName: string): Role {
    const stack = Stack.of(this);
    const arn = (resourceName: string) =>
      stack.formatArn({
        service: 'states',
        resource: 'stateMachine',
        resourceName,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
    return new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('states.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': [arn(name), arn(`${name}/*`), arn(windowName)] },
        },
      }),
    });
  }
}
