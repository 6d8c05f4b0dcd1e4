/** Faults a test queues up for the next matching requests, and the helpers that build their answers. */

export type Fault =
  /**
   * Answer with this status; body defaults to `{"errors":[<status text>]}`. `headers` override the
   * rate-limit ones case-insensitively (`x-ratelimit-reset` replaces `X-RateLimit-Reset`).
   */
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  /** Send 200 headers and part of a body, then destroy the socket. */
  | { kind: 'reset' }
  /** Wait, then answer normally. */
  | { kind: 'delay'; ms: number }
  /** 200 with the first half of the normal JSON body (correct Content-Length). */
  | { kind: 'truncate' }
  /** 200 text/html maintenance page. */
  | { kind: 'html' }
  /**
   * 200 with an empty record array and a cursor that continues where the request's cursor pointed (the
   * first record when the request had none), spelled differently each time so it is never a repeat:
   * nothing is skipped. Paginated endpoints only; elsewhere the request is answered normally.
   */
  | { kind: 'emptyPage' }
  /**
   * 200 with the page's records and, as its cursor, the request's own cursor (or, on a first page, a
   * constant cursor that points at the first record): a client that follows it loops. Paginated
   * endpoints only; elsewhere the request is answered normally.
   */
  | { kind: 'repeatCursor' };

/**
 * Faults apply, in push order, to the next `times` (default 1) authenticated requests within the rate
 * limit whose raw or decoded URL (path and query) contains `pathIncludes` (any request if omitted).
 */
export interface FaultQueue {
  push(f: Fault, opts?: { times?: number; pathIncludes?: string }): void;
  clear(): void;
}

interface QueuedFault {
  fault: Fault;
  remaining: number;
  pathIncludes: string | undefined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The queue callers push to, and `take`, which the server calls once per eligible request. */
export function createFaultQueue(): { faults: FaultQueue; take(rawUrl: string): Fault | undefined } {
  let queue: QueuedFault[] = [];
  return {
    faults: {
      push(fault, o) {
        queue.push({ fault, remaining: Math.max(1, o?.times ?? 1), pathIncludes: o?.pathIncludes });
      },
      clear() {
        queue = [];
      },
    },
    take(rawUrl) {
      const decoded = safeDecode(rawUrl);
      const q = queue.find(
        (f) =>
          f.pathIncludes === undefined || rawUrl.includes(f.pathIncludes) || decoded.includes(f.pathIncludes),
      );
      if (!q) return undefined;
      q.remaining -= 1;
      if (q.remaining <= 0) queue = queue.filter((x) => x !== q);
      return q.fault;
    },
  };
}

export const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not found',
  429: 'Too many requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Later header sets override earlier ones case-insensitively: one header per name is ever sent. */
export function mergeHeaders(...sets: Array<Record<string, string> | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const set of sets) {
    for (const [name, value] of Object.entries(set ?? {})) {
      for (const existing of Object.keys(out)) {
        if (existing.toLowerCase() === name.toLowerCase()) delete out[existing];
      }
      out[name] = value;
    }
  }
  return out;
}

/** Sets `body.<path>` to `value`, creating the objects on the way. */
export function setPath(body: unknown, path: readonly string[], value: unknown): void {
  let node = body as Record<string, unknown>;
  path.forEach((key, i) => {
    if (i === path.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (next === null || typeof next !== 'object') node[key] = {};
    node = node[key] as Record<string, unknown>;
  });
}
