import type { S3Client } from '@aws-sdk/client-s3';
import { CATEGORIES, type CategoryDef, type Window } from '../categories.ts';
import type { DatadogClient, DatadogResponse, RateLimitState } from '../shared/datadog-client.ts';
import {
  CursorLoopError,
  DatadogUnavailableError,
  PageLimitError,
  RateLimitedError,
} from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { type CommitOutcome, completeFetch, discardFetch, readCommit } from './commit.ts';
import { fetchIdOf, isNewerFetch, type PartitionRef } from './layout.ts';
import { describePart, listPartition, type PartInfo, type StoredPart, writePart } from './page-writer.ts';
import { NO_LEDGER, needsLedger, ownWaitUntil, type RateLedger } from './rate-ledger.ts';
import { addDays, nthWindowStart, windowOf } from './windows.ts';
import type { WorkItem } from './work-item.ts';

export interface FetchDeps {
  s3: S3Client;
  bucket: string;
  prefix: string;
  /** The Datadog client for an account (keys resolved from its secret). */
  clientFor(account: string): Promise<DatadogClient>;
  /** The account's shared rate-limit ledger. */
  ledgerFor?(account: string): RateLedger;
  now(): Date;
  /** Time left in this invocation, from the Lambda context. */
  remainingMs(): number;
  sleep(ms: number): Promise<void>;
  log: Logger;
  limits: FetchLimits;
  /** Aborted when the invocation has timed out (locally): nothing may be written after that. */
  signal?: AbortSignal;
}

export interface FetchLimits {
  /** Stop fetching and hand the cursor back when less than this is left. */
  reserveMs: number;
  /** Hand the cursor back after this many pages in one invocation. */
  maxPagesPerInvocation: number;
  /**
   * A window with more pages than this is a runaway cursor: 100,000 pages of 500 records is 35 times
   * the largest day Datadog can answer for a parent with 1,000 child organizations.
   */
  maxPagesPerWindow: number;
  /** Rate-limit waits shorter than this are slept in the Lambda; longer ones become a Wait state. */
  maxInlineWaitSeconds: number;
  /**
   * Waits in a row without a page landing before the window fails with RateLimitedError: a limit
   * that never lets a request through (resets are capped at an hour, so at most a day of waiting).
   */
  maxStalledWaits: number;
  /** Pause between pages when Datadog sends no rate-limit headers (its pseudo-code sleeps 5 s). */
  fallbackPageDelayMs: number;
  /** How long a second of the rate-limit headers is: 1,000 ms (a test may run the clock faster). */
  headerSecondMs: number;
  /** At most this many invocations in one execution before the window moves on (tests; default: the definition's). */
  budgetOverride?: number;
}

export const DEFAULT_LIMITS: FetchLimits = {
  reserveMs: 30_000,
  maxPagesPerInvocation: 2_000,
  maxPagesPerWindow: 100_000,
  maxInlineWaitSeconds: 5,
  maxStalledWaits: 24,
  fallbackPageDelayMs: 5_000,
  headerSecondMs: 1_000,
};

/** What the state machine passes a fetch function: the window's state, and the execution running it. */
export interface FetchEvent {
  item: WorkItem;
  execution: {
    /** `$$.Execution.Id` of the execution looping over the window. */
    id: string;
    /** Invocations this execution may make for the window before it moves on (infra/history-budget.ts). */
    budget: number;
  };
}

function getPath(body: unknown, path: readonly string[]): unknown {
  let v: unknown = body;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/**
 * When Datadog stops restating the window: usage lags up to 72 h, months close mid-next-month.
 * '' when it never does (estimated and projected cost are replaced, not closed).
 */
export function finalAfter(def: CategoryDef, w: Window): string {
  const end = new Date(w.end);
  if (def.window === 'day') return new Date(end.getTime() + 72 * 3_600_000).toISOString();
  if (def.availability.recentMonthsOnly !== undefined) return '';
  const day = def.availability.finalOnDayOfNextMonth;
  return (day === undefined ? addDays(end, 3) : addDays(end, day - 1)).toISOString();
}

/** A fetch that began at `fetchedAt` holds the window's final data: it began after restatements end. */
export function isFinal(def: CategoryDef, w: Window, fetchedAt: Date): boolean {
  const after = finalAfter(def, w);
  return after !== '' && fetchedAt.getTime() >= new Date(after).getTime();
}

/** One answered page: its records and the cursor after it. */
export interface Page {
  records: unknown[];
  /** '' on the last page. */
  next: string;
  res: DatadogResponse;
}

/**
 * The pages of a window, from the cursor `cursorOf()` gives each time (the caller may follow another
 * writer's cursor between pages), until the caller's cursor is empty. Stops with CursorLoopError on a
 * cursor already requested, and with DatadogUnavailableError on an answer without a record array.
 * The caller decides what to do with each page, and when to stop asking.
 */
export async function* paginate(
  client: DatadogClient,
  def: CategoryDef,
  params: Record<string, string>,
  cursorOf: () => string,
  signal?: AbortSignal,
): AsyncGenerator<Page> {
  const requested = new Set<string>();
  const loop = (cursor: string) =>
    new CursorLoopError(
      `GET ${def.path} returned cursor it had already returned (${JSON.stringify(cursor)}); stopping instead of looping`,
    );
  for (;;) {
    signal?.throwIfAborted();
    const cursor = cursorOf();
    if (cursor && requested.has(cursor)) throw loop(cursor);
    requested.add(cursor);
    const query = cursor && def.pagination ? { ...params, [def.pagination.cursorParam]: cursor } : params;
    const res = await client.get(def.path, query, { permissions: def.permissions });
    const records = getPath(res.body, [def.recordsField]);
    if (!Array.isArray(records)) {
      throw new DatadogUnavailableError(
        `GET ${def.path} answered ${res.status} without a ${def.recordsField}[] array of records`,
        { method: 'GET', path: def.path, status: res.status },
      );
    }
    const raw = def.pagination ? getPath(res.body, def.pagination.cursorPath) : undefined;
    const next = typeof raw === 'string' ? raw : '';
    if (next && requested.has(next)) throw loop(next);
    yield { records, next, res };
    // The caller follows the chain of pages as stored, which may be another writer's.
    if (!cursorOf()) return;
  }
}

/** The window's state, one page on: counts added, the page now written and the cursor after it. */
function advance(item: WorkItem, part: StoredPart): void {
  item.pagesWritten = part.page + 1;
  item.records += part.records;
  item.bytes += part.bytes;
  item.cursor = part.next;
  item.stalls = 0;
}

/**
 * Fetches pages of one window while the invocation's time allows, writing each page as it comes.
 * Returns the item with `status` `more` (call again), `wait` (rate limited: wait until `waitUntil`)
 * or `done` (all pages written and the fetch committed, or discarded because a newer fetch was).
 *
 * Every invocation of one fetch (a retry, or a timed-out one still running) writes the same keys, and
 * a part is written only if absent: whoever writes a page first defines it and the cursor after it,
 * and the others follow that chain. So however invocations overlap, a fetch is one chain of pages.
 *
 * Before each request the fetch takes one from the account's rate-limit ledger, shared by every
 * window in flight, once the limit runs low (needsLedger); when the limit's window is spent it waits
 * until that window ends: in the Lambda when that is soon, otherwise in a Wait state until the exact
 * time.
 */
export async function fetchWindow(
  input: WorkItem,
  execution: FetchEvent['execution'],
  deps: FetchDeps,
): Promise<WorkItem> {
  const def = CATEGORIES[input.category];
  const { limits, signal } = deps;
  const window = windowOf(def.window, nthWindowStart(def.window, new Date(input.groupStart), input.index));
  const fetchId = fetchIdOf(input.executionStart, input.executionId, input.attempt);
  const sameExecution = input.execution === execution.id;
  const item: WorkItem = {
    ...input,
    windowStart: window.start,
    invocations: input.invocations + 1,
    execution: execution.id,
    invocationsHere: (sameExecution ? input.invocationsHere : 0) + 1,
    budget: Math.min(execution.budget, limits.budgetOverride ?? Number.POSITIVE_INFINITY),
    status: 'more',
    waitSeconds: 0,
    waitUntil: '',
    startedAt: input.startedAt || deps.now().toISOString(),
  };
  const ref: PartitionRef = {
    bucket: deps.bucket,
    prefix: deps.prefix,
    category: item.category,
    account: item.account,
    partition: window.partition,
  };
  const log = deps.log.child({
    run_id: item.runId,
    account: item.account,
    category: item.category,
    window: window.partition,
    fetch_id: fetchId,
  });
  const baseParams = def.params(window, item.options);
  /** Whether this fetch, begun at startedAt, holds the window's final data. */
  const final = isFinal(def, window, new Date(item.startedAt));
  const done = (outcome: CommitOutcome, records: number, bytes: number): WorkItem => ({
    ...item,
    status: 'done',
    cursor: '',
    records,
    bytes,
    outcome,
    final,
  });
  const ledger = deps.ledgerFor?.(item.account) ?? NO_LEDGER;
  const secondMs = limits.headerSecondMs;
  /** Waits in a Wait state until `until` (epoch ms), rounded up to a whole header second. */
  const waitUntil = (until: number): WorkItem => {
    if (item.stalls >= limits.maxStalledWaits) {
      throw new RateLimitedError(
        `${item.category} ${window.partition}: the rate limit let no request through in ${item.stalls} waits in a row; try again later`,
        {
          method: 'GET',
          path: def.path,
          status: 429,
          retryAfterSeconds: 0,
          ...(item.rateLimit ? { rateLimit: { ...item.rateLimit } } : {}),
        },
      );
    }
    const at = Math.ceil(until / secondMs) * secondMs;
    return {
      ...item,
      status: 'wait',
      waitUntil: new Date(at).toISOString(),
      waitSeconds: Math.max(0, Math.ceil((at - deps.now().getTime()) / secondMs)),
      waits: item.waits + 1,
      stalls: item.stalls + 1,
    };
  };
  /** This invocation's latest rate-limit headers, and when they arrived. */
  let seen: { rl: RateLimitState; at: number } | undefined;
  /**
   * Paces the next request: by the ledger while the limit is scarce (or nothing is known yet), else by
   * this fetch's own latest headers. Undefined to send it now, or the item to hand back.
   */
  const pace = async (): Promise<WorkItem | undefined> => {
    for (;;) {
      const now = deps.now().getTime();
      const shared = !seen || needsLedger(seen.rl) ? await ledger.take(item.category, now) : undefined;
      const until = shared ?? (seen ? ownWaitUntil(seen.rl, seen.at, secondMs) : 0);
      if (until <= now) return undefined;
      if (until - now > limits.maxInlineWaitSeconds * secondMs) return waitUntil(until);
      await deps.sleep(until - now);
    }
  };

  if (item.pagesWritten === 0 && item.cursor === '') {
    // A newer fetch is committed already: nothing this one could fetch would be seen.
    const committed = await readCommit(deps.s3, ref);
    if (committed && committed.record.fetch_id === fetchId) {
      return done('committed', committed.record.records, committed.record.bytes);
    }
    if (committed && !isNewerFetch(fetchId, committed.record.fetch_id)) {
      // An earlier attempt of this invocation may have landed pages before it failed: remove them.
      const removed = await discardFetch(deps.s3, ref, fetchId);
      log.info('a newer fetch of the window is committed: skipping it', {
        committed_fetch_id: committed.record.fetch_id,
        removed: removed.length,
      });
      return done('superseded', 0, 0);
    }
  }

  const complete = async (written: readonly PartInfo[], rateLimit: RateLimitState): Promise<WorkItem> => {
    const completed = await completeFetch(deps.s3, {
      ref,
      windowKind: def.window,
      fetchId,
      pages: item.pagesWritten,
      known: written,
      manifest: {
        account: item.account,
        category: item.category,
        window,
        request: { method: 'GET', path: def.path, params: baseParams },
        rate_limit: { ...rateLimit },
        execution: { id: item.executionId, run_id: item.runId },
        started_at: item.startedAt,
        completed_at: deps.now().toISOString(),
      },
      status: final ? 'final' : 'provisional',
      finalAfter: finalAfter(def, window),
      now: deps.now,
      signal,
    });
    if (!('manifest' in completed) || completed.outcome === 'superseded') {
      log.info('a newer fetch was committed first: discarded', { removed: completed.removed.length });
      return done('superseded', 0, 0);
    }
    const { manifest, removed } = completed;
    log.info('window committed', {
      pages: manifest.pages,
      records: manifest.records,
      bytes: manifest.bytes,
      removed: removed.length,
    });
    return done('committed', manifest.records, manifest.bytes);
  };

  // Pages of this fetch already in S3 (an earlier attempt of this invocation wrote them): follow them.
  const written: PartInfo[] = [];
  const stored = new Set(
    (await listPartition(deps.s3, ref, signal))
      .filter((o) => o.what.kind === 'part' && o.what.fetchId === fetchId)
      .map((o) => (o.what as { page: number }).page),
  );
  while (stored.has(item.pagesWritten)) {
    const part = await describePart(deps.s3, ref, fetchId, item.pagesWritten, signal);
    advance(item, part);
    written.push(part);
    if (!part.next) return complete(written, item.rateLimit ?? {});
  }

  const client = await deps.clientFor(item.account);
  const held = await pace();
  if (held) return held;
  let pages = 0;
  try {
    for await (const page of paginate(client, def, baseParams, () => item.cursor, signal)) {
      const rl = page.res.rateLimit;
      item.retries += page.res.retries;
      item.throttles += page.res.throttles;
      item.rateLimit = rl;
      seen = { rl, at: deps.now().getTime() };
      if (needsLedger(rl)) await ledger.observe(item.category, rl, seen.at);

      const at = item.pagesWritten;
      const part =
        (await writePart(deps.s3, {
          ref,
          fetchId,
          page: at,
          records: page.records,
          next: page.next,
          ingest: {
            account: item.account,
            category: item.category,
            window_start: window.start,
            window_end: window.end,
            page: at,
            fetched_at: deps.now().toISOString(),
            fetch_id: fetchId,
          },
          signal,
        })) ??
        // Another invocation of this fetch wrote the page first: its page, and its cursor, stand.
        (await describePart(deps.s3, ref, fetchId, at, signal));
      advance(item, part);
      written.push(part);
      pages++;
      const last = page.records.at(-1);
      item.position = (last !== undefined && def.position?.(last, window)) || item.position;

      if (!item.cursor) return await complete(written, rl);
      if (item.pagesWritten >= limits.maxPagesPerWindow) {
        throw new PageLimitError(
          `${item.category} ${window.partition} passed ${limits.maxPagesPerWindow} pages; stopping a runaway cursor`,
        );
      }
      if (rl.remaining === undefined && limits.fallbackPageDelayMs > 0) {
        // No rate-limit headers at all: Datadog's own pseudo-code pause between pages.
        await deps.sleep(limits.fallbackPageDelayMs);
      }
      if (pages >= limits.maxPagesPerInvocation || deps.remainingMs() < limits.reserveMs) {
        log.info('handing the cursor back', {
          pages_written: item.pagesWritten,
          pages_this_invocation: pages,
        });
        return item;
      }
      const hold = await pace();
      if (hold) return hold;
    }
  } catch (error) {
    if (!(error instanceof RateLimitedError)) throw error;
    // Datadog refused the request for the rate limit: record it, and wait until its window ends, unless
    // it has refused every request for too long.
    if (item.stalls >= limits.maxStalledWaits) throw error;
    item.throttles += 1;
    if (error.rateLimit) {
      item.rateLimit = error.rateLimit;
      await ledger.observe(item.category, error.rateLimit, deps.now().getTime());
    }
    log.warn('rate limited: waiting in the state machine', { wait_seconds: error.retryAfterSeconds });
    return waitUntil(deps.now().getTime() + error.retryAfterSeconds * secondMs);
  }
  // paginate() returns only after a page without a cursor, which completes the window above.
  throw new DatadogUnavailableError(`GET ${def.path} ended without a last page`, {
    method: 'GET',
    path: def.path,
  });
}
