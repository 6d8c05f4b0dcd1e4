/**
 * Datadog's rate limit: calendar-aligned windows of `periodSeconds` on the real clock (not the data
 * clock), and the five X-RateLimit-* headers on every answer.
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
): (increment: boolean) => RateLimitAnswer {
  let window = -1;
  let count = 0;
  return (increment) => {
    const nowMs = Date.now();
    const periodMs = periodSeconds * 1000;
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
      'X-RateLimit-Reset': String(Math.max(1, Math.ceil(((w + 1) * periodMs - nowMs) / 1000))),
      'X-RateLimit-Name': 'usage_metering',
    };
    return { over: count > limit, headers };
  };
}
