/**
 * Worst-case Step Functions history events and payload sizes, computed from the synthesized
 * definition. Standard executions are capped at 25,000 history events and 256 KiB per payload; the
 * distributed Map gives every group a child execution with its own history, so the bound that
 * matters is per child (a group's windows) and for the parent (plan, map run, summary).
 */

export const STEP_FUNCTIONS_LIMITS = { historyEvents: 25_000, payloadBytes: 256 * 1024 } as const;

type State = {
  Type: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: Array<{ Next: string }>;
  Retry?: Array<{ MaxAttempts?: number }>;
  ItemProcessor?: { StartAt: string; States: Record<string, State>; ProcessorConfig?: { Mode?: string } };
};
type Definition = { StartAt: string; States: Record<string, State> };

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
 * One window's worst case: the loop Route → Fetch → Check → Wait → Route taken `invocations` times
 * (every invocation retried to the limit and followed by a Wait), then Route → Fetch → Check → end.
 * The loop is read from the definition by following its transitions.
 */
export function worstCaseWindowEvents(windowProcessor: Definition, invocations: number): number {
  const states = windowProcessor.States;
  const get = (name: string): State => {
    const s = states[name];
    if (!s) throw new Error(`state ${name} is not in the window processor`);
    return s;
  };
  const route = get(windowProcessor.StartAt);
  const tasks = (route.Choices ?? []).map((c) => get(c.Next)).filter((s) => s.Type === 'Task');
  if (tasks.length === 0) throw new Error('the window processor does not start by routing to tasks');
  const task = tasks.reduce((a, b) => (worstCaseStateEvents(a) >= worstCaseStateEvents(b) ? a : b));
  const check = get(task.Next ?? '');
  const waitName = (check.Choices ?? []).map((c) => c.Next).find((n) => get(n).Type === 'Wait');
  if (!waitName) throw new Error('the window loop has no Wait state');
  const wait = get(waitName);
  if (wait.Next !== windowProcessor.StartAt)
    throw new Error('the Wait state does not loop back to the route');
  const endName = check.Default ?? '';
  const loop = worstCaseStateEvents(route) + worstCaseStateEvents(task) + worstCaseStateEvents(check);
  return (
    2 /* MapIterationStarted/Succeeded */ +
    invocations * (loop + worstCaseStateEvents(wait)) +
    loop +
    worstCaseStateEvents(get(endName))
  );
}

export interface HistoryBounds {
  /** Worst case for one child execution (one group). */
  child: number;
  /** Worst case for the parent execution, whatever the number of groups. */
  parent: number;
}

export function worstCaseHistory(
  definition: Definition,
  bounds: { windowsPerGroup: number; invocationsPerWindow: number },
): HistoryBounds {
  const [, groups] = findMap(definition.States, 'DISTRIBUTED');
  const child = groups.ItemProcessor as Definition;
  const [, windows] = findMap(child.States, 'INLINE');
  const perWindow = worstCaseWindowEvents(windows.ItemProcessor as Definition, bounds.invocationsPerWindow);
  const childOthers = Object.values(child.States).reduce((n, s) => n + worstCaseStateEvents(s), 0);
  const parentStates = Object.values(definition.States).reduce((n, s) => n + worstCaseStateEvents(s), 0);
  return {
    child: 2 /* ExecutionStarted/Succeeded */ + childOthers + bounds.windowsPerGroup * perWindow,
    parent: 2 + parentStates,
  };
}
