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
import { beginWindow, completeWindow, type PartInfo, type PartitionRef, writePart } from './page-writer.ts';
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

/** Datadog may still restate the window: usage lags up to 72 h, months close mid-next-month. */
export function isFinal(def: CategoryDef, w: Window, now: Date): boolean {
  const end = new Date(w.end);
  if (def.window === 'day') return now.getTime() - end.getTime() >= 72 * 3_600_000;
  if (def.availability.recentMonthsOnly !== undefined) return false;
  const day = def.availability.finalOnDayOfNextMonth;
  const finalAt = day === undefined ? addDays(end, 3) : addDays(end, day - 1);
  return now.getTime() >= finalAt.getTime();
}

/**
 * Fetches pages of one window while the invocation's time allows, writing each page as it comes.
 * Returns the item with `status` `more` (call again), `wait` (rate limited: wait first) or `done`
 * (all pages written and the manifest is in place).
 */
export async function fetchWindow(input: WorkItem, deps: FetchDeps): Promise<WorkItem> {
  const def = CATEGORIES[input.category];
  const { limits } = deps;
  if (input.invocations >= limits.maxInvocationsPerWindow) {
    throw new PageLimitError(
      `${input.category} window ${input.index} of ${input.groupStart} took ${input.invocations} invocations without finishing; stopping to stay inside the execution's history limit`,
    );
  }
  const window = windowOf(def.window, nthWindowStart(def.window, new Date(input.groupStart), input.index));
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
  });
  const baseParams = def.params(window, item.options);

  if (item.part === 0 && item.cursor === '') await beginWindow(deps.s3, ref);
  const client = await deps.clientFor(item.account);
  const seen = new Set<string>(item.cursor ? [item.cursor] : []);
  const written: PartInfo[] = [];

  for (let n = 0; ; n++) {
    if (n > 0 && (n >= limits.maxPagesPerInvocation || deps.remainingMs() < limits.reserveMs)) {
      log.info('handing the cursor back', { part: item.part, pages_this_invocation: n });
      return item;
    }
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

    const info = await writePart(deps.s3, ref, item.part, records, {
      account: item.account,
      category: item.category,
      window_start: window.start,
      window_end: window.end,
      page: item.part,
      fetched_at: deps.now().toISOString(),
    });
    written.push(info);
    item.part += 1;
    item.records += info.records;
    item.bytes += info.bytes;

    // Pace by the rate-limit headers, after the last page too (the next window's first request comes
    // next): sleep a short reset here; a long one becomes a Wait state below.
    const rl = res.rateLimit;
    const exhausted =
      rl.remaining !== undefined && rl.reset !== undefined && rl.remaining <= rateLimitReserve(limits, rl);
    if (exhausted && (rl.reset ?? 0) <= limits.maxInlineWaitSeconds) {
      await deps.sleep(Math.ceil((rl.reset ?? 0) * 1000) + 100);
    } else if (rl.remaining === undefined && next && limits.fallbackPageDelayMs > 0) {
      await deps.sleep(limits.fallbackPageDelayMs);
    }

    if (!next) {
      const manifest = await completeWindow(
        deps.s3,
        ref,
        item.part,
        {
          account: item.account,
          category: item.category,
          window,
          request: { method: 'GET', path: def.path, params: baseParams },
          rate_limit: { ...res.rateLimit },
          execution: { id: item.executionId, run_id: item.runId },
          started_at: item.startedAt,
          completed_at: deps.now().toISOString(),
        },
        written,
      );
      log.info('window complete', {
        pages: manifest.pages,
        records: manifest.records,
        bytes: manifest.bytes,
      });
      return {
        ...item,
        status: 'done',
        cursor: '',
        records: manifest.records,
        bytes: manifest.bytes,
        final: isFinal(def, window, deps.now()),
      };
    }
    if (item.part >= limits.maxPagesPerWindow) {
      throw new PageLimitError(
        `${item.category} ${window.partition} passed ${limits.maxPagesPerWindow} pages; stopping a runaway cursor`,
      );
    }
    seen.add(next);
    item.cursor = next;
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
