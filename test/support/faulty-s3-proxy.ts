/**
 * A faulty HTTP proxy on 127.0.0.1 in front of an S3-compatible endpoint (the embedded s3rver): every
 * request is passed through unchanged (headers included, so SigV4 signatures still verify) unless a
 * rule says to fail or delay it. Point an S3 client at it with `localS3Client(proxy.url)`.
 *
 * Requests on the same object key are forwarded one at a time. S3 makes each PUT atomic (bytes and
 * metadata together); s3rver writes the bytes, then the metadata, in two steps, so two concurrent PUTs
 * of one key can leave the bytes of one with the metadata of the other. Serializing per key gives the
 * tests S3's semantics instead of that artifact.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import { listenOnLoopback, serverLifetime } from '../../local/simulator/loopback.ts';

export interface FailPutRule {
  /** PUTs to fail; default 1. `Infinity` fails every matching PUT until `clear()`. */
  times?: number;
  /** 500 (InternalError) or 503 (SlowDown); any status is accepted. Default 500. */
  status?: number;
  /** Only PUTs whose object key contains this. */
  keyIncludes?: string;
}

export interface DelayRule {
  /** Only requests with this method (e.g. `HEAD`); any if omitted. */
  method?: string;
  /** Only requests on object keys containing this. */
  keyIncludes?: string;
  /** Answers to delay; default 1. */
  times?: number;
  ms: number;
}

export interface ProxiedRequest {
  method: string;
  /** The object key (decoded), `''` for bucket-level requests. */
  key: string;
  status: number;
  /** True when the proxy answered itself instead of forwarding. */
  failed: boolean;
}

export interface FaultyS3Proxy {
  url: string;
  /** Every request, in arrival order. */
  requests: ProxiedRequest[];
  counters: {
    requests: number;
    /** PutObject requests received (failed ones included). */
    puts: number;
    failedPuts: number;
    forwarded: number;
    delayed: number;
  };
  /** Fails the next `times` PutObject requests matching `keyIncludes` with `status` (S3's error XML). */
  failPut(rule?: FailPutRule): void;
  /**
   * Delays the answers of matching requests: the request reaches S3 at once (a read sees the state of
   * that moment), its answer reaches the client `ms` later. A slow network, or a paused Lambda.
   */
  delayAnswers(rule: DelayRule): void;
  /** Removes every rule: from now on everything is forwarded at once. */
  clear(): void;
  close(): Promise<void>;
}

interface Counted {
  remaining: number;
  keyIncludes: string | undefined;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const S3_ERRORS: Record<number, { code: string; message: string }> = {
  500: { code: 'InternalError', message: 'We encountered an internal error. Please try again.' },
  503: { code: 'SlowDown', message: 'Please reduce your request rate.' },
};

function errorXml(status: number, key: string): string {
  const e = S3_ERRORS[status] ?? { code: 'ServiceUnavailable', message: 'Injected fault.' };
  const escaped = key.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${e.code}</Code><Message>${e.message}</Message><Key>${escaped}</Key><RequestId>faulty-s3-proxy</RequestId></Error>`;
}

/** Object key of a path-style request: `/bucket/some/key` → `some/key`. */
function objectKey(rawUrl: string): string {
  const pathname = new URL(rawUrl, 'http://proxy').pathname;
  const slash = pathname.indexOf('/', 1);
  if (slash < 0) return '';
  try {
    return decodeURIComponent(pathname.slice(slash + 1));
  } catch {
    return pathname.slice(slash + 1);
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Takes one use of the first rule matching `key` (and `extra`), dropping it when used up. */
function take<T extends Counted>(rules: T[], key: string, extra: (r: T) => boolean = () => true) {
  const rule = rules.find((r) => (r.keyIncludes === undefined || key.includes(r.keyIncludes)) && extra(r));
  if (!rule) return { rule: undefined, rules };
  rule.remaining -= 1;
  return { rule, rules: rule.remaining <= 0 ? rules.filter((r) => r !== rule) : rules };
}

/** Starts the proxy in front of `target` (e.g. `http://127.0.0.1:4568`) and resolves once it listens. */
export async function startFaultyS3Proxy(target: string): Promise<FaultyS3Proxy> {
  const upstream = new URL(target);
  let failures: Array<Counted & { status: number }> = [];
  let delays: Array<Counted & { method: string | undefined; ms: number }> = [];
  const requests: ProxiedRequest[] = [];
  const counters = { requests: 0, puts: 0, failedPuts: 0, forwarded: 0, delayed: 0 };

  /** The tail of each key's queue of requests. */
  const queues = new Map<string, Promise<unknown>>();
  const oneAtATime = async <T>(key: string, action: () => Promise<T>): Promise<T> => {
    const previous = queues.get(key) ?? Promise.resolve();
    const mine = previous.then(action, action);
    const tail = mine.catch(() => {});
    queues.set(key, tail);
    try {
      return await mine;
    } finally {
      if (queues.get(key) === tail) queues.delete(key);
    }
  };

  const forward = (req: IncomingMessage, body: Buffer): Promise<Answer> =>
    new Promise<Answer>((resolve, reject) => {
      const out = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          // Unchanged, Host included: the client signed them for the proxy's host.
          headers: req.headers as OutgoingHttpHeaders,
        },
        (answer) => {
          readAll(answer).then(
            (bytes) => resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: bytes }),
            reject,
          );
        },
      );
      out.on('error', reject);
      out.end(body);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const key = objectKey(req.url ?? '/');
    const body = await readAll(req);
    counters.requests += 1;
    const entry: ProxiedRequest = { method, key, status: 0, failed: false };
    requests.push(entry);

    const isPutObject = method === 'PUT' && key !== '';
    if (isPutObject) counters.puts += 1;
    const failure = isPutObject ? take(failures, key) : { rule: undefined, rules: failures };
    failures = failure.rules;
    if (failure.rule) {
      counters.failedPuts += 1;
      const xml = errorXml(failure.rule.status, key);
      entry.status = failure.rule.status;
      entry.failed = true;
      res.writeHead(failure.rule.status, {
        'Content-Type': 'application/xml',
        'Content-Length': String(Buffer.byteLength(xml)),
        'x-amz-request-id': 'faulty-s3-proxy',
      });
      res.end(xml);
      return;
    }

    const delay = take(delays, key, (r) => r.method === undefined || r.method === method);
    delays = delay.rules;
    counters.forwarded += 1;
    const answer = await (key === '' ? forward(req, body) : oneAtATime(key, () => forward(req, body)));
    entry.status = answer.status;
    if (delay.rule) {
      counters.delayed += 1;
      await lifetime.sleep(delay.rule.ms);
    }
    if (res.destroyed) return;
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'application/xml' });
      res.end(errorXml(502, ''));
    });
  });

  const lifetime = serverLifetime(server);
  const { url } = await listenOnLoopback(server);

  return {
    url,
    requests,
    counters,
    failPut(rule = {}) {
      failures.push({
        remaining: Math.max(1, rule.times ?? 1),
        status: rule.status ?? 500,
        keyIncludes: rule.keyIncludes,
      });
    },
    delayAnswers(rule) {
      delays.push({
        remaining: Math.max(1, rule.times ?? 1),
        keyIncludes: rule.keyIncludes,
        method: rule.method,
        ms: rule.ms,
      });
    },
    clear() {
      failures = [];
      delays = [];
    },
    close: lifetime.close,
  };
}
