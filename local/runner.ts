import './node20.ts';
import { setMaxListeners } from 'node:events';
import type { S3Client } from '@aws-sdk/client-s3';
import { StateMachine } from 'aws-local-stepfunctions';
import {
  type Definitions,
  definitionSettings,
  generatedDefinitionsFor,
  taskStateNames,
  taskTimeouts,
} from '../infra/asl.ts';
import { type LakeSettings, parseSettings } from '../infra/config.ts';
import { STATE } from '../infra/state-names.ts';
import { CATEGORY_NAMES, type CategoryName } from '../lambdas/categories.ts';
import { DEFAULT_LIMITS, type FetchLimits } from '../lambdas/core/fetch-window.ts';
import {
  createFetchHandler,
  createPlanHandler,
  createSummarizeHandler,
  type PlanEvent,
  type Runtime,
} from '../lambdas/core/handlers.ts';
import type { Plan } from '../lambdas/core/plan.ts';
import type { RunOutput } from '../lambdas/core/summarize.ts';
import type { WorkItem } from '../lambdas/core/work-item.ts';
import type { AccountConfig } from '../lambdas/shared/config.ts';
import type { DatadogClientOptions, RateLimitState } from '../lambdas/shared/datadog-client.ts';
import { type Logger, silentLogger } from '../lambdas/shared/log.ts';
import type { DatadogKeys } from '../lambdas/shared/secrets.ts';

/** Progress of one window after one invocation of its category's function. */
export interface Progress {
  account: string;
  /** The rate limit as Datadog last answered it (limit, period, remaining, reset). */
  rateLimit?: RateLimitState;
  /** How far into the window the last page reached, 0 to 1 (0 when the category does not tell). */
  position: number;
  category: CategoryName;
  windowStart: string;
  status: WorkItem['status'];
  pages: number;
  records: number;
  waitSeconds: number;
}

export interface LocalRunOptions {
  /** The execution input, exactly as a manual StartExecution would pass it. */
  input: Record<string, unknown>;
  /** The accounts the "deployment" knows; every one uses `keys`. */
  accounts: AccountConfig[];
  keys: DatadogKeys;
  /** Datadog-compatible base URL (simulator, proxy); without it the client goes to https://api.<site>. */
  datadogUrl?: string;
  s3: S3Client;
  bucket: string;
  prefix: string;
  /** Settings the definition is synthesized with (concurrency); accounts and prefix come from above. */
  settings?: Partial<LakeSettings>;
  limits?: Partial<FetchLimits>;
  clientOptions?: Partial<Omit<DatadogClientOptions, 'site' | 'apiKey' | 'appKey' | 'baseUrlOverride'>>;
  /**
   * Shortens every Task's timeout to this (tests); default: each Task's `TimeoutSeconds` from the
   * definition, which is its function's timeout. The handler sees the same deadline through
   * `getRemainingTimeInMillis`, and an invocation past it is aborted: it can write nothing more.
   */
  lambdaTimeoutMs?: number;
  /**
   * Replaces every Wait state's and retrier's wait, in ms (tests); default: wait as deployed. The
   * handlers' clock jumps over each rate-limit wait so shortened, so pacing stays consistent.
   */
  waitOverrideMs?: number;
  executionName?: string;
  /** `$$.Execution.StartTime`; default: when the run starts. */
  executionStart?: string;
  log?: Logger;
  /**
   * The handlers' clock; default the real one. Wait states wait on the real clock (unless
   * `waitOverrideMs`), so a run whose limit makes it wait needs the real clock here.
   */
  now?: () => Date;
  onProgress?: (p: Progress) => void;
  /** Called once the Plan state has planned the run. */
  onPlan?: (plan: Plan) => void;
}

export interface LocalRunStats {
  /** Invocations per Task state. */
  invocations: Record<string, number>;
  /** Invocations that ran past their Task's timeout and were aborted. */
  timedOut: number;
  /** Executions of the window state machine: windows that outgrew their execution's budget. */
  windowExecutions: number;
  stateTransitions: number;
  waitStates: number;
  /** Largest state input or output seen, in bytes of JSON. */
  maxPayloadBytes: number;
  elapsedMs: number;
}

export interface LocalRunResult {
  output: RunOutput;
  stats: LocalRunStats;
  /** The pipeline's definition, as run. */
  definition: Record<string, unknown>;
  /** The window state machine's definition, as run. */
  windowDefinition: Record<string, unknown>;
}

const built = new Map<string, Promise<Definitions>>();
/** Definitions aws-local-stepfunctions has checked (or a test has, for the generated file): by key. */
const checked = new Set<string>();

/**
 * The definitions `cdk synth` deploys for these settings, tokens replaced: those kept in
 * `infra/definitions.generated.json` when they are for these settings (no CDK loaded), otherwise
 * built by the state-machine construct alone (no stack synthesis); once per settings in a process.
 */
export async function localDefinitions(settings: LakeSettings): Promise<Definitions> {
  const wanted = definitionSettings(settings);
  const key = JSON.stringify(wanted);
  let definitions = built.get(key);
  if (!definitions) {
    definitions = (async () => {
      const generated = generatedDefinitionsFor(wanted);
      // test/unit/definitions.test.ts checks the generated ones with every check on.
      if (generated) for (const which of ['pipeline', 'window']) checked.add(`${which} ${key}`);
      return generated ?? (await import('../infra/pipeline-definitions.ts')).buildDefinitions(wanted);
    })();
    built.set(key, definitions);
  }
  return structuredClone(await definitions);
}

/** What Step Functions raises in a task whose child execution failed. */
class TaskFailedError extends Error {
  override name = 'States.TaskFailed';
}

const json = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** What Step Functions raises when a Task runs past its `TimeoutSeconds`. */
class TaskTimeoutError extends Error {
  override name = 'States.Timeout';
}

/**
 * Runs the deployed state-machine definition locally with aws-local-stepfunctions, every Task bound
 * to its real handler in-process, with the same JSON round trip Lambda payloads go through.
 */
export async function runLocal(options: LocalRunOptions): Promise<LocalRunResult> {
  const started = Date.now();
  const settings = parseSettings({
    ...options.settings,
    accounts: options.accounts,
    prefix: options.prefix,
  });
  const { pipeline: definition, window: windowDefinition } = await localDefinitions(settings);
  const definitionsKey = JSON.stringify(definitionSettings(settings));
  const clock = () => options.now?.() ?? new Date();
  const runtime: Runtime = {
    bucket: options.bucket,
    prefix: options.prefix,
    accounts: options.accounts,
    enabledCategories: settings.categories,
    s3: options.s3,
    loadKeys: async () => options.keys,
    clientOptions: {
      ...options.clientOptions,
      ...(options.datadogUrl ? { baseUrlOverride: options.datadogUrl } : {}),
    },
    limits: {
      ...DEFAULT_LIMITS,
      ...options.limits,
    },
    log: options.log ?? silentLogger,
    // Shortened Wait states still let their time pass for the handlers: the clock jumps over them.
    now: () => new Date(clock().getTime() + skippedMs),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  };
  /** Time the shortened Wait states did not wait (waitOverrideMs), added to the handlers' clock. */
  let skippedMs = 0;
  const stats: LocalRunStats = {
    invocations: {},
    timedOut: 0,
    windowExecutions: 0,
    stateTransitions: 0,
    waitStates: 0,
    maxPayloadBytes: 0,
    elapsedMs: 0,
  };
  const timeouts = { ...taskTimeouts(windowDefinition), ...taskTimeouts(definition) };
  /** Handlers that timed out and were aborted, still settling: the run waits for them before it returns. */
  const abandoned: Promise<unknown>[] = [];

  type Handler = (
    event: never,
    context: { getRemainingTimeInMillis(): number; signal: AbortSignal },
  ) => Promise<unknown>;
  const asLambdaInvoke = (name: string, handler: Handler) => async (params: unknown) => {
    const { Payload } = params as { Payload: unknown };
    stats.invocations[name] = (stats.invocations[name] ?? 0) + 1;
    const waited = (Payload as { item?: WorkItem }).item;
    if (options.waitOverrideMs !== undefined && waited?.status === 'wait' && waited.waitUntil) {
      skippedMs = Math.max(skippedMs, Date.parse(waited.waitUntil) - clock().getTime());
    }
    // One millisecond under the interpreter's own timer, so this one fires first and aborts the handler.
    const timeoutMs = Math.min(
      options.lambdaTimeoutMs ?? Number.POSITIVE_INFINITY,
      (timeouts[name] ?? 60) * 1000 - 1,
    );
    const deadline = Date.now() + timeoutMs;
    const controller = new AbortController();
    // Every S3 request in flight listens to it, two listeners each, and commit reads up to 16 parts at once.
    setMaxListeners(200, controller.signal);
    const running = handler(json(Payload) as never, {
      getRemainingTimeInMillis: () => deadline - Date.now(),
      signal: controller.signal,
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        stats.timedOut++;
        const error = new TaskTimeoutError(`${name} ran past its ${timeoutMs} ms timeout`);
        controller.abort(error);
        abandoned.push(running.catch(() => {}));
        reject(error);
      }, timeoutMs);
    });
    let result: unknown;
    try {
      result = json(await Promise.race([running, timedOut]));
    } finally {
      clearTimeout(timer);
    }
    if (options.onProgress && name.startsWith('Fetch ')) {
      const item = result as WorkItem;
      options.onProgress({
        account: item.account,
        category: item.category,
        windowStart: item.windowStart,
        status: item.status,
        pages: item.pagesWritten,
        records: item.records,
        waitSeconds: item.waitSeconds,
        position: item.position,
        rateLimit: item.rateLimit,
      });
    }
    return { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: result };
  };

  const plan = createPlanHandler(runtime);
  const handlers: Record<string, (input: unknown) => Promise<unknown>> = {
    [STATE.plan]: asLambdaInvoke(STATE.plan, ((event: PlanEvent) =>
      // The interpreter stamps StartTime itself: an execution told to start earlier is so from the plan on.
      plan(options.executionStart ? { ...event, executionStart: options.executionStart } : event).then(
        (p) => {
          options.onPlan?.(p);
          return p;
        },
      )) as Handler),
    [STATE.summarizeGroup]: asLambdaInvoke(STATE.summarizeGroup, createSummarizeHandler(runtime) as Handler),
    [STATE.groupFailed]: asLambdaInvoke(STATE.groupFailed, createSummarizeHandler(runtime) as Handler),
    [STATE.summarize]: asLambdaInvoke(STATE.summarize, createSummarizeHandler(runtime) as Handler),
  };
  for (const category of CATEGORY_NAMES) {
    handlers[STATE.fetch(category)] = asLambdaInvoke(
      STATE.fetch(category),
      createFetchHandler(category, runtime) as Handler,
    );
  }
  // A window that outgrows its execution continues in a window execution, run here like any other.
  handlers[STATE.continueWindow] = async (params: unknown) => {
    const { Input } = params as { Input: unknown };
    const n = ++stats.windowExecutions;
    try {
      const output = await execute('window', Input, `window-${n}`);
      return { Output: output, Status: 'SUCCEEDED' };
    } catch (error) {
      const cause = (error as { cause?: Error }).cause ?? (error as Error);
      throw new TaskFailedError(`window execution ${n} failed: ${cause.name}: ${cause.message}`);
    }
  };
  const unbound = [...taskStateNames(definition), ...taskStateNames(windowDefinition)].filter(
    (name) => !handlers[name],
  );
  if (unbound.length > 0) throw new Error(`no local handler for Task state(s): ${unbound.join(', ')}`);

  const waits: Record<string, number> = {};
  const retries: Record<string, number> = {};
  if (options.waitOverrideMs !== undefined) {
    waits[STATE.pause] = options.waitOverrideMs;
    for (const name of Object.keys(handlers)) retries[name] = options.waitOverrideMs;
  }

  const executionName = options.executionName ?? `local-${new Date().toISOString().replace(/[-:.]/g, '')}`;
  /** Runs a definition to its end, with every Task bound, counting what happened into `stats`. */
  async function execute(which: keyof Definitions, input: unknown, name: string): Promise<unknown> {
    // Each definition is checked (ARNs, paths, schema) the first time a process runs it.
    const key = `${which} ${definitionsKey}`;
    const machine = new StateMachine((which === 'pipeline' ? definition : windowDefinition) as never, {
      validationOptions: { checkArn: true, checkPaths: true, noValidate: checked.has(key) },
    });
    checked.add(key);
    const execution = machine.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: handlers as never,
        waitTimeOverrides: waits,
        retryIntervalOverrides: retries,
      },
      context: {
        Execution: {
          Id: `arn:aws:states:us-east-1:123456789012:execution:DatadogUsageLake:${name}`,
          Name: name,
          Input: input as never,
          StartTime: new Date().toISOString(),
          RedriveCount: 0,
        } as never,
      },
    });
    const consume = (async () => {
      type Event = { type: string; state: { type: string; input?: unknown; output?: unknown } };
      for await (const event of execution.eventLogs as AsyncGenerator<Event>) {
        if (event.type === 'StateEntered') {
          stats.stateTransitions++;
          if (event.state.type === 'Wait') stats.waitStates++;
          stats.maxPayloadBytes = Math.max(
            stats.maxPayloadBytes,
            JSON.stringify(event.state.input ?? null).length,
          );
        } else if (event.type === 'StateExited') {
          stats.maxPayloadBytes = Math.max(
            stats.maxPayloadBytes,
            JSON.stringify(event.state.output ?? null).length,
          );
        }
      }
    })();
    try {
      return await execution.result;
    } finally {
      await consume.catch(() => {});
    }
  }

  const output = (await execute('pipeline', options.input, executionName).finally(() =>
    Promise.allSettled(abandoned),
  )) as RunOutput;
  stats.elapsedMs = Date.now() - started;
  return { output, stats, definition, windowDefinition };
}
