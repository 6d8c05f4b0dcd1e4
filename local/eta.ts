/**
 * How long the rest of a run will take, from what its first pages tell: pages per window (a finished
 * window, or how far into its window a running one is), and the rate Datadog allows (the rate-limit
 * headers: limit per period, per account). Used by `npm start` and `npm run backfill`.
 */
import type { RateLimitState } from '../lambdas/shared/datadog-client.ts';

/** What is known of one window at one moment. */
export interface WindowProgress {
  account: string;
  /** Any key that tells windows apart, e.g. `hourly_usage main 2026-09-01`. */
  key: string;
  pages: number;
  done: boolean;
  /** How far into the window the last page reached, 0 to 1, when the category tells (hourly usage). */
  position?: number;
  rateLimit?: RateLimitState;
}

export interface Estimate {
  windows: number;
  windowsDone: number;
  pages: number;
  /** Requests still to send, estimated; undefined before any page says how many a window takes. */
  pagesLeft?: number;
  /** Milliseconds until the run ends, estimated; undefined when nothing tells yet. */
  etaMs?: number;
  /** What the rate comes from. */
  basis?: 'rate limit' | 'throughput';
}

export class EtaEstimator {
  readonly #windows = new Map<string, WindowProgress>();
  readonly #limits = new Map<string, RateLimitState>();
  readonly #started: number;
  #total = 0;

  constructor(private readonly now: () => number = () => Date.now()) {
    this.#started = now();
  }

  /** The run's size, once the plan is known. */
  planned(windows: number): void {
    this.#total = windows;
  }

  update(p: WindowProgress): void {
    this.#windows.set(p.key, p);
    if (p.rateLimit) this.limit(p.account, p.rateLimit);
  }

  /** The rate limit an account's requests are held to (each account has its own). */
  limit(account: string, rl: RateLimitState): void {
    if (rl.limit !== undefined && rl.period) this.#limits.set(account, rl);
  }

  estimate(): Estimate {
    const all = [...this.#windows.values()];
    const done = all.filter((w) => w.done);
    const pages = all.reduce((n, w) => n + w.pages, 0);
    const total = Math.max(this.#total, all.length);
    const base: Estimate = { windows: total, windowsDone: done.length, pages };
    // Pages a window takes: the finished windows' mean, else the running windows' pace through theirs.
    const perWindow = done.length
      ? done.reduce((n, w) => n + w.pages, 0) / done.length
      : mean(all.filter((w) => w.position && w.position > 0).map((w) => w.pages / (w.position as number)));
    if (perWindow === undefined) return base;
    const running = all.filter((w) => !w.done);
    const left =
      Math.max(0, (total - done.length - running.length) * perWindow) +
      running.reduce((n, w) => {
        const expected = w.position && w.position > 0 ? w.pages / w.position : perWindow;
        return n + Math.max(0, expected - w.pages);
      }, 0);
    // Accounts have limits of their own: they run side by side.
    const allowed = [...this.#limits.values()].reduce(
      (n, rl) => n + (rl.limit as number) / (rl.period as number),
      0,
    );
    const elapsedS = (this.now() - this.#started) / 1000;
    const rate = allowed > 0 ? allowed : elapsedS > 0 ? pages / elapsedS : 0;
    if (rate <= 0) return { ...base, pagesLeft: Math.round(left) };
    return {
      ...base,
      pagesLeft: Math.round(left),
      etaMs: Math.round((left / rate) * 1000),
      basis: allowed > 0 ? 'rate limit' : 'throughput',
    };
  }
}

function mean(values: number[]): number | undefined {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : undefined;
}

/** `42 s`, `7 min`, `2 h 05 min`, `3 days`. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 90) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 90) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ${String(min % 60).padStart(2, '0')} min`;
  return `${Math.round(h / 24)} days`;
}

/** One line for a progress display: windows, pages and the time left. */
export function describeEstimate(e: Estimate): string {
  const left =
    e.etaMs === undefined
      ? 'time left: estimating'
      : `about ${formatDuration(e.etaMs)} left (${e.pagesLeft} more page${e.pagesLeft === 1 ? '' : 's'} at the ${e.basis})`;
  return `${e.windowsDone}/${e.windows} windows, ${e.pages} pages, ${left}`;
}
