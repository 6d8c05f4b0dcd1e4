import type { S3Client } from '@aws-sdk/client-s3';
import { CATEGORIES, type CategoryDef, type Window } from '../categories.ts';
import type { DatadogClient, RateLimitState } from '../shared/datadog-client.ts';
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
import { addDays, nthWindowStart, windowOf } from './windows.ts';
import type { WorkItem } from './work-item.ts';

export interface FetchDeps {
  s3: S3Client;
  bucket: string;
  prefix: string;
  /** The Datadog client for an account (keys resolved from its secret). */
  clientFor(account: string): Promise<DatadogClient>;
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
  /** A window with more pages than this is a runaway cursor. */
  maxPagesPerWindow: number;
  /**
   * Invocations (state-machine loops) one window may take. Bounds each child execution's history;
   * infra/limits.ts proves the bound fits Step Functions' 25,000 events.
   */
  maxInvocationsPerWindow: number;
  /** Rate-limit resets longer than this become a Wait state instead of a sleep in the Lambda. */
  maxInlineWaitSeconds: number;
  /** Rate-limit Wait states per window before the window fails with RateLimitedError. */
  maxWaits: number;
  /** Pause between pages when Datadog sends no rate-limit headers (its pseudo-code sleeps 5 s). */
  fallbackPageDelayMs: number;
  /** Fetches that may run at once against the same rate limit (map × window concurrency). */
  concurrentWorkers: number;
}

export const DEFAULT_LIMITS: FetchLimits = {
  reserveMs: 30_000,
  maxPagesPerInvocation: 2_000,
  maxPagesPerWindow: 100_000,
  maxInvocationsPerWindow: 30,
  maxInlineWaitSeconds: 5,
  maxWaits: 50,
  fallbackPageDelayMs: 5_000,
  concurrentWorkers: 1,
};

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

/** The window's state, one invocation on: counts added, the page now written and the cursor after it. */
function advance(item: WorkItem, part: StoredPart): void {
  item.part = part.page + 1;
  item.records += part.records;
  item.bytes += part.bytes;
  item.cursor = part.next;
}

/**
 * Fetches pages of one window while the invocation's time allows, writing each page as it comes.
 * Returns the item with `status` `more` (call again), `wait` (rate limited: wait first) or `done`
 * (all pages written and the fetch committed, or discarded because a newer fetch was committed).
 *
 * Every invocation of one fetch (a retry, or a timed-out one still running) writes the same keys, and
 * a part is written only if absent: whoever writes a page first defines it and the cursor after it,
 * and the others follow that chain. So however invocations overlap, a fetch is one chain of pages.
 */
export async function fetchWindow(input: WorkItem, deps: FetchDeps): Promise<WorkItem> {
  const def = CATEGORIES[input.category];
  const { limits, signal } = deps;
  if (input.invocations >= limits.maxInvocationsPerWindow) {
    throw new PageLimitError(
      `${input.category} window ${input.index} of ${input.groupStart} took ${input.invocations} invocations without finishing; stopping to stay inside the execution's history limit`,
    );
  }
  const window = windowOf(def.window, nthWindowStart(def.window, new Date(input.groupStart), input.index));
  const fetchId = fetchIdOf(input.executionStart, input.executionId, input.attempt);
  const item: WorkItem = {
    ...input,
    windowStart: window.start,
    invocations: input.invocations + 1,
    status: 'more',
    waitSeconds: 0,
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
  const done = (outcome: CommitOutcome, records: number, bytes: number): WorkItem => ({
    ...item,
    status: 'done',
    cursor: '',
    records,
    bytes,
    outcome,
    final: isFinal(def, window, new Date(item.startedAt)),
  });

  if (item.part === 0 && item.cursor === '') {
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
      pages: item.part,
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
      status: isFinal(def, window, new Date(item.startedAt)) ? 'final' : 'provisional',
      finalAfter: finalAfter(def, window),
      now: deps.now,
      ...(signal ? { signal } : {}),
    });
    if (!('manifest' in completed)) {
      log.info('a newer fetch was committed first: discarded', { removed: completed.removed.length });
      return done('superseded', 0, 0);
    }
    const { outcome, manifest, removed } = completed;
    log.info(outcome === 'committed' ? 'window committed' : 'a newer fetch was committed first: discarded', {
      pages: manifest.pages,
      records: manifest.records,
      bytes: manifest.bytes,
      removed: removed.length,
    });
    return outcome === 'committed' ? done(outcome, manifest.records, manifest.bytes) : done(outcome, 0, 0);
  };

  // Pages of this fetch already in S3 (an earlier attempt of this invocation wrote them): follow them.
  const written: PartInfo[] = [];
  const stored = new Set(
    (await listPartition(deps.s3, ref, signal))
      .filter((o) => o.what.kind === 'part' && o.what.fetchId === fetchId)
      .map((o) => (o.what as { page: number }).page),
  );
  while (stored.has(item.part)) {
    const part = await describePart(deps.s3, ref, fetchId, item.part, signal);
    advance(item, part);
    written.push(part);
    if (!part.next) return complete(written, item.rateLimit ?? {});
  }

  const client = await deps.clientFor(item.account);
  const seen = new Set<string>(item.cursor ? [item.cursor] : []);

  for (let n = 0; ; n++) {
    if (n > 0 && (n >= limits.maxPagesPerInvocation || deps.remainingMs() < limits.reserveMs)) {
      log.info('handing the cursor back', { part: item.part, pages_this_invocation: n });
      return item;
    }
    signal?.throwIfAborted();
    const params =
      item.cursor && def.pagination
        ? { ...baseParams, [def.pagination.cursorParam]: item.cursor }
        : baseParams;
    let res: Awaited<ReturnType<DatadogClient['get']>>;
    try {
      res = await client.get(def.path, params, { permissions: def.permissions });
    } catch (error) {
      if (error instanceof RateLimitedError && item.waits < limits.maxWaits) {
        log.warn('rate limited: waiting in the state machine', { wait_seconds: error.retryAfterSeconds });
        return {
          ...item,
          status: 'wait',
          waitSeconds: Math.ceil(error.retryAfterSeconds) + 1,
          waits: item.waits + 1,
          throttles: item.throttles + 1,
          rateLimit: error.rateLimit,
        };
      }
      throw error;
    }
    item.retries += res.retries;
    item.throttles += res.throttles;
    item.rateLimit = res.rateLimit;

    const records = getPath(res.body, [def.recordsField]);
    if (!Array.isArray(records)) {
      throw new DatadogUnavailableError(
        `GET ${def.path} answered ${res.status} without a ${def.recordsField}[] array of records`,
        { method: 'GET', path: def.path, status: res.status },
      );
    }
    const rawNext = def.pagination ? getPath(res.body, def.pagination.cursorPath) : undefined;
    const next = typeof rawNext === 'string' && rawNext !== '' ? rawNext : '';
    if (next && seen.has(next)) {
      throw new CursorLoopError(
        `GET ${def.path} returned cursor it had already returned for ${window.partition} (page ${item.part}); stopping instead of looping`,
      );
    }

    const page = item.part;
    const part =
      (await writePart(deps.s3, {
        ref,
        fetchId,
        page,
        records,
        next,
        ingest: {
          account: item.account,
          category: item.category,
          window_start: window.start,
          window_end: window.end,
          page,
          fetched_at: deps.now().toISOString(),
          fetch_id: fetchId,
        },
        ...(signal ? { signal } : {}),
      })) ??
      // Another invocation of this fetch wrote the page first: its page, and its cursor, stand.
      (await describePart(deps.s3, ref, fetchId, page, signal));
    advance(item, part);
    written.push(part);

    // Pace by the rate-limit headers, after the last page too (the next window's first request comes
    // next): sleep a short reset here; a long one becomes a Wait state below.
    const rl = res.rateLimit;
    const exhausted =
      rl.remaining !== undefined && rl.reset !== undefined && rl.remaining <= rateLimitReserve(limits, rl);
    if (exhausted && (rl.reset ?? 0) <= limits.maxInlineWaitSeconds) {
      await deps.sleep(Math.ceil((rl.reset ?? 0) * 1000) + 100);
    } else if (rl.remaining === undefined && item.cursor && limits.fallbackPageDelayMs > 0) {
      await deps.sleep(limits.fallbackPageDelayMs);
    }

    if (!item.cursor) return complete(written, res.rateLimit);
    if (item.part >= limits.maxPagesPerWindow) {
      throw new PageLimitError(
        `${item.category} ${window.partition} passed ${limits.maxPagesPerWindow} pages; stopping a runaway cursor`,
      );
    }
    seen.add(item.cursor);
    if (exhausted && (rl.reset ?? 0) > limits.maxInlineWaitSeconds) {
      return { ...item, status: 'wait', waitSeconds: Math.ceil(rl.reset ?? 0) + 1 };
    }
  }
}

/**
 * Requests to leave in a rate-limit window for the other workers sharing the limit: each worker sees
 * only its own responses, so one that stopped at 0 would let the others draw a 429 each. Capped at a
 * tenth of the limit, so a small limit is not left unused.
 */
export function rateLimitReserve(limits: FetchLimits, rl: RateLimitState): number {
  return Math.max(0, Math.min(limits.concurrentWorkers - 1, Math.floor((rl.limit ?? 0) / 10)));
}
