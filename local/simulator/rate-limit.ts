/**
 * Datadog's rate limit: calendar-aligned windows of `periodSeconds` on the real clock (not the data
 * clock), and the five X-RateLimit-* headers on every answer. A second of the limit lasts `secondMs`
 * of real time (1000 unless a test scales the clock); the headers always count in its seconds.
 */
export interface RateLimitAnswer {
  /** This request is past the window's limit. */
  over: boolean;
  headers: Record<string, string>;
}

/** The answer for one request; `increment` counts it (authenticated requests only count). */
export function rateLimitWindow(
  limit: number,
  periodSeconds: number,
  secondMs = 1000,
): (increment: boolean) => RateLimitAnswer {
  let window = -1;
  let count = 0;
  return (increment) => {
    const nowMs = Date.now();
    const periodMs = periodSeconds * secondMs;
    const w = Math.floor(nowMs / periodMs);
    if (w !== window) {
      window = w;
      count = 0;
    }
    if (increment) count += 1;
    const headers: Record<string, string> = {
      'X-RateLimit-Limit': String(limit),
      'X-RateLimit-Period': String(periodSeconds),
      'X-RateLimit-Remaining': String(Math.max(0, limit - count)),
      'X-RateLimit-Reset': String(Math.max(1, Math.ceil(((w + 1) * periodMs - nowMs) / secondMs))),
      'X-RateLimit-Name': 'usage_metering',
    };
    return { over: count > limit, headers };
  };
}
