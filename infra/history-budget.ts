/**
 * What Step Functions bounds, and how the pipeline stays inside it: Standard executions are capped at
 * 25,000 history events and 256 KiB per payload, and run for at most a year. A window's loop (route,
 * invoke, check, wait) adds history events at every pass, so each execution that loops over windows
 * gets a budget of invocations per window derived here from the definition's own states; a window
 * that spends it continues in a fresh execution of the window state machine, with a fresh history.
 */

/** Step Functions' own limits, and the one the pipeline sets on a window. */
export const STEP_FUNCTIONS_LIMITS = {
  historyEvents: 25_000,
  payloadBytes: 256 * 1024,
  executionSeconds: 365 * 24 * 3600,
  /**
   * How long a window may take once it continues in window executions (their StartExecution.sync
   * timeout): far beyond its page cap at any rate limit Datadog has answered with (100,000 pages at
   * 10 per 30 s take 3.5 days), and within what a timer of the local interpreter can hold (24.8 days).
   */
  windowSeconds: 20 * 24 * 3600,
} as const;

/**
 * Share of an execution's history the window loops may take in the worst case (every retrier
 * exhausted on every invocation): the rest is headroom for the states around them.
 */
export const HISTORY_SHARE = 0.8;

/** History events of the states around the window loops in one execution (a group: indexes, Map, summaries). */
export const SURROUNDING_EVENTS_ALLOWANCE = 300;

export type State = {
  Type: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: Array<{ Next: string }>;
  Retry?: Array<{ MaxAttempts?: number }>;
  Catch?: Array<{ Next: string }>;
  ItemProcessor?: { StartAt: string; States: Record<string, State>; ProcessorConfig?: { Mode?: string } };
};
export type Definition = { StartAt: string; States: Record<string, State> };

/** Events a state adds each time it runs, before retries (entered + exited, plus a task's lifecycle). */
function baseEvents(state: State): number {
  switch (state.Type) {
    case 'Task':
      return 5; // TaskStateEntered, TaskScheduled, TaskStarted, TaskSucceeded, TaskStateExited
    case 'Map':
      return 6; // MapStateEntered, MapStateStarted, (MapRunStarted,) MapStateSucceeded/MapRunSucceeded, MapStateExited
    default:
      return 2; // <Type>StateEntered, <Type>StateExited
  }
}

/** A task whose every retrier retries to its limit: 3 more events (scheduled, started, failed) per attempt. */
export function worstCaseStateEvents(state: State): number {
  const attempts = (state.Retry ?? []).reduce((n, r) => n + (r.MaxAttempts ?? 3), 0);
  return baseEvents(state) + attempts * 3;
}

/**
 * One pass through a window's loop in the worst case: every state of it but the tasks, which are
 * alternatives (one per category), plus the costliest task.
 */
export function iterationEvents(iteration: readonly State[]): number {
  const tasks = iteration.filter((s) => s.Type === 'Task').map(worstCaseStateEvents);
  const others = iteration.filter((s) => s.Type !== 'Task').map(worstCaseStateEvents);
  return Math.max(0, ...tasks) + others.reduce((a, b) => a + b, 0);
}

/** Events one window adds besides its passes: its Map iteration, and the states it runs once. */
export function perWindowEvents(once: readonly State[]): number {
  return 2 /* MapIterationStarted/Succeeded */ + once.reduce((n, s) => n + worstCaseStateEvents(s), 0);
}

/**
 * Invocations per window one execution may make, `windows` windows sharing its history: as many as
 * keep every window's loop inside {@link HISTORY_SHARE} of the 25,000 events in the worst case.
 */
export function invocationBudget(loop: {
  windows: number;
  iteration: readonly State[];
  once: readonly State[];
}): number {
  const available =
    Math.floor(STEP_FUNCTIONS_LIMITS.historyEvents * HISTORY_SHARE) - 2 - SURROUNDING_EVENTS_ALLOWANCE;
  const perWindow = Math.floor(available / loop.windows) - perWindowEvents(loop.once);
  const budget = Math.floor(perWindow / iterationEvents(loop.iteration));
  if (budget < 2) throw new Error(`a window loop's history leaves a budget of ${budget} invocations`);
  return budget;
}

function findMap(states: Record<string, State>, mode: 'DISTRIBUTED' | 'INLINE'): [string, State] {
  for (const [name, state] of Object.entries(states)) {
    if (state.Type !== 'Map' || !state.ItemProcessor) continue;
    const m = state.ItemProcessor.ProcessorConfig?.Mode ?? 'INLINE';
    if (m === mode) return [name, state];
    const inner = Object.entries(state.ItemProcessor.States).find(
      ([, s]) => s.Type === 'Map' && (s.ItemProcessor?.ProcessorConfig?.Mode ?? 'INLINE') === mode,
    );
    if (inner) return inner;
  }
  throw new Error(`no ${mode} Map in the definition`);
}

/**
 * A window loop read back from a rendered definition by following its transitions: from the route
 * (a Choice of tasks) through the check to its Wait, which must lead back to the route; the states
 * the window runs once are the check's other ways out.
 */
export function readWindowLoop(loop: Definition, routeName: string): { iteration: State[]; once: State[] } {
  const get = (name: string): State => {
    const s = loop.States[name];
    if (!s) throw new Error(`state ${name} is not in the window loop`);
    return s;
  };
  const route = get(routeName);
  const tasks = (route.Choices ?? []).map((c) => get(c.Next)).filter((s) => s.Type === 'Task');
  if (tasks.length === 0) throw new Error('the window loop does not start by routing to tasks');
  const check = get(tasks[0]?.Next ?? '');
  const ways = [...(check.Choices ?? []).map((c) => c.Next), check.Default ?? ''];
  const waitName = ways.find((n) => get(n).Type === 'Wait');
  if (!waitName) throw new Error('the window loop has no Wait state');
  const wait = get(waitName);
  if (wait.Next !== routeName) throw new Error('the Wait state does not loop back to the route');
  const once = [...new Set(ways.filter((n) => n !== waitName && n !== routeName))].map(get);
  return { iteration: [route, ...tasks, check, wait], once };
}

export interface HistoryBounds {
  /** Worst case for one child execution of the distributed Map (one group of windows). */
  child: number;
  /** Worst case for one execution of the window state machine (one window, continued). */
  window: number;
  /** Worst case for the parent execution, whatever the number of groups. */
  parent: number;
}

/** The worst-case history of every execution, from the rendered definitions and their budgets. */
export function worstCaseHistory(
  definition: Definition,
  windowDefinition: Definition,
  budgets: { group: number; window: number; windowsPerGroup: number; routeName: string },
): HistoryBounds {
  const [, groups] = findMap(definition.States, 'DISTRIBUTED');
  const child = groups.ItemProcessor as Definition;
  const [, windows] = findMap(child.States, 'INLINE');
  const groupLoop = readWindowLoop(windows.ItemProcessor as Definition, budgets.routeName);
  const perWindow = (loop: { iteration: State[]; once: State[] }, budget: number) =>
    perWindowEvents(loop.once) + budget * iterationEvents(loop.iteration);
  const childOthers = Object.values(child.States).reduce((n, s) => n + worstCaseStateEvents(s), 0);
  const windowLoop = readWindowLoop(windowDefinition, budgets.routeName);
  const windowStart = worstCaseStateEvents(windowDefinition.States[windowDefinition.StartAt] as State);
  return {
    child:
      2 /* ExecutionStarted/Succeeded */ +
      childOthers +
      budgets.windowsPerGroup * perWindow(groupLoop, budgets.group),
    window: 2 + windowStart + perWindow(windowLoop, budgets.window),
    parent: 2 + Object.values(definition.States).reduce((n, s) => n + worstCaseStateEvents(s), 0),
  };
}
