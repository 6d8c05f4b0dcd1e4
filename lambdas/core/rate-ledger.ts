/**
 * One account's Datadog rate limit, shared by every fetch running against it. Datadog counts requests
 * per account and limit (`X-RateLimit-Name`), but each fetch only sees the headers of its own
 * responses: concurrent windows would spend the same remaining requests twice and draw 429s from each
 * other. The ledger is one small object per account that every fetch takes a request from before it
 * sends one (a compare-and-set on S3), and that every response corrects.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { RateLimitState } from '../shared/datadog-client.ts';
import { getJson, isConditionalConflict, isPreconditionFailed, unquote } from './page-writer.ts';

/** One rate limit as the ledger knows it. Times are epoch milliseconds. */
export interface LimitWindow {
  limit: number;
  /** Length of a limit window, in ms (0 when unknown). */
  periodMs: number;
  /** When the current window ends; the earliest end any response implied (headers round it up). */
  resetAt: number;
  /** Requests taken in the current window, by every fetch: the most of ours and Datadog's count. */
  used: number;
}

export interface LedgerDoc {
  /** Limit name (`X-RateLimit-Name`) → its window. */
  limits: Record<string, LimitWindow>;
  /** Category → the limit its endpoint answered with, so a fetch knows its limit before its first response. */
  categories: Record<string, string>;
}

export const emptyLedger = (): LedgerDoc => ({ limits: {}, categories: {} });

/** A name for the limit when Datadog sends none. */
const UNNAMED = 'default';

/** The window as it stands at `now`: a window past its end rolls on by whole periods, with none used. */
export function rolled(w: LimitWindow, now: number): LimitWindow {
  if (now < w.resetAt) return w;
  if (w.periodMs <= 0) return { ...w, resetAt: 0, used: 0 };
  const periods = Math.floor((now - w.resetAt) / w.periodMs) + 1;
  return { ...w, resetAt: w.resetAt + periods * w.periodMs, used: 0 };
}

/**
 * Takes one request for `category` at `now`. Returns 0 when it may be sent now, or the time to wait
 * until (the window's end); the document is changed only when a request is taken.
 */
export function take(doc: LedgerDoc, category: string, now: number): { doc: LedgerDoc; waitUntil: number } {
  const name = doc.categories[category];
  const w = name === undefined ? undefined : doc.limits[name];
  if (name === undefined || w === undefined) return { doc, waitUntil: 0 };
  const current = rolled(w, now);
  if (current.used >= current.limit) {
    // A window whose end is unknown: look again in a second rather than not at all.
    return { doc, waitUntil: current.resetAt > now ? current.resetAt : now + 1_000 };
  }
  return {
    doc: { ...doc, limits: { ...doc.limits, [name]: { ...current, used: current.used + 1 } } },
    waitUntil: 0,
  };
}

/**
 * Corrects the ledger with one response's headers, seen at `now`. `secondMs` is how long a header
 * second is (1,000; less when a test runs the clock faster). Returns undefined when nothing changed.
 */
export function observe(
  doc: LedgerDoc,
  category: string,
  rl: RateLimitState,
  now: number,
  secondMs = 1_000,
): LedgerDoc | undefined {
  if (rl.limit === undefined || rl.remaining === undefined || rl.reset === undefined) return undefined;
  const name = rl.name || UNNAMED;
  const resetAt = now + rl.reset * secondMs;
  const periodMs = (rl.period ?? 0) * secondMs;
  const usedByDatadog = Math.max(0, rl.limit - rl.remaining);
  const known = doc.limits[name] && rolled(doc.limits[name], now);
  // The same window as the ledger's when the ends lie closer than half a period (or a header second).
  const sameWindow =
    known !== undefined &&
    known.resetAt > 0 &&
    Math.abs(known.resetAt - resetAt) < Math.max(secondMs, periodMs / 2);
  const next: LimitWindow = sameWindow
    ? {
        limit: rl.limit,
        periodMs: periodMs || known.periodMs,
        resetAt: Math.min(known.resetAt, resetAt),
        used: Math.max(known.used, usedByDatadog),
      }
    : { limit: rl.limit, periodMs, resetAt, used: usedByDatadog };
  const old = doc.limits[name];
  if (
    doc.categories[category] === name &&
    old &&
    old.limit === next.limit &&
    old.periodMs === next.periodMs &&
    old.resetAt === next.resetAt &&
    old.used === next.used
  ) {
    return undefined;
  }
  return {
    limits: { ...doc.limits, [name]: next },
    categories: { ...doc.categories, [category]: name },
  };
}

/**
 * Remaining requests below which every fetch of an account coordinates through the ledger: more than
 * the fetches of one account that run at once under the default settings (mapConcurrency 4 ×
 * windowConcurrency 2), twice over for a daily run beside a backfill. Each of them may send one
 * request on a reading taken just above it before it sees the count fall.
 */
export const LEDGER_HEADROOM = 16;

/**
 * Whether a fetch whose latest response (in this invocation) said `rl` takes its next request from
 * the ledger. While plenty remains (more than half the limit, and more than LEDGER_HEADROOM), the
 * concurrent fetches cannot spend it before they see it fall, so a request costs no S3 write; the
 * first request of an invocation, and any without headers, always go through the ledger.
 */
export function needsLedger(rl: RateLimitState | undefined): boolean {
  if (rl?.limit === undefined || rl.remaining === undefined) return true;
  return rl.remaining <= Math.max(LEDGER_HEADROOM, Math.ceil(rl.limit / 2));
}

/**
 * When a fetch's own latest response lets it send again: the end of the limit's window when that
 * response spent the last request, 0 otherwise. `at` is when it arrived (epoch ms). What a fetch
 * paces by when there is no ledger to ask.
 */
export function ownWaitUntil(rl: RateLimitState, at: number, secondMs = 1_000): number {
  if (rl.remaining === undefined || rl.remaining > 0 || rl.reset === undefined) return 0;
  return at + rl.reset * secondMs;
}

export interface RateLedger {
  /**
   * Takes one request: 0 to send it now, or the epoch ms to wait until; undefined when there is no
   * ledger to ask (none configured, or S3 failed), and the fetch paces by its own headers.
   */
  take(category: string, now: number): Promise<number | undefined>;
  /** Corrects the ledger with a response's rate-limit headers. */
  observe(category: string, rl: RateLimitState, now: number): Promise<void>;
}

/** No coordination: every fetch paces by its own responses only. */
export const NO_LEDGER: RateLedger = { take: async () => undefined, observe: async () => {} };

/** Compare-and-set attempts on the ledger before a fetch goes on without it. */
const ATTEMPTS = 8;

/**
 * The ledger as one S3 object, changed only by conditional writes (If-Match its ETag, If-None-Match
 * for the first). The last version read is kept, so taking a request is usually one PUT. When S3
 * cannot be reached or the object keeps changing, the fetch goes on pacing by its own headers: the
 * ledger only prevents 429s, it must never fail a window.
 */
export class S3RateLedger implements RateLedger {
  #doc: LedgerDoc | undefined;
  #etag: string | undefined;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly key: string,
    private readonly secondMs = 1_000,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  async take(category: string, now: number): Promise<number | undefined> {
    let waitUntil = 0;
    const reached = await this.#update((doc) => {
      const taken = take(doc, category, now);
      waitUntil = taken.waitUntil;
      return taken.waitUntil === 0 && taken.doc !== doc ? taken.doc : undefined;
    });
    return reached ? waitUntil : undefined;
  }

  async observe(category: string, rl: RateLimitState, now: number): Promise<void> {
    await this.#update((doc) => observe(doc, category, rl, now, this.secondMs));
  }

  /** Applies `change` by compare-and-set; false when S3 failed or the object kept changing. */
  async #update(change: (doc: LedgerDoc) => LedgerDoc | undefined): Promise<boolean> {
    try {
      for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
        if (!this.#doc) await this.#read();
        const next = change(this.#doc ?? emptyLedger());
        if (!next) return true;
        try {
          const res = await this.s3.send(
            new PutObjectCommand({
              Bucket: this.bucket,
              Key: this.key,
              Body: JSON.stringify(next),
              ContentType: 'application/json',
              ...(this.#etag ? { IfMatch: `"${this.#etag}"` } : { IfNoneMatch: '*' }),
            }),
          );
          this.#doc = next;
          this.#etag = unquote(res.ETag);
          return true;
        } catch (error) {
          if (!isPreconditionFailed(error) && !isConditionalConflict(error)) throw error;
          this.#doc = undefined;
        }
      }
      return false;
    } catch (error) {
      this.#doc = undefined;
      this.onError(error);
      return false;
    }
  }

  async #read(): Promise<void> {
    const got = await getJson(this.s3, this.bucket, this.key);
    const doc = (got?.value ?? {}) as Partial<LedgerDoc>;
    this.#doc = { limits: doc.limits ?? {}, categories: doc.categories ?? {} };
    this.#etag = got?.etag;
  }
}
