/**
 * The HTTP server: keys and scopes, parent-only endpoints, the rate-limit window, queued faults, and
 * the log of what was asked and served. What each endpoint answers comes from its own module.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { costRoutes } from './cost.ts';
import { costAttributionRoutes } from './cost-attribution.ts';
import { createFaultQueue, type FaultQueue, mergeHeaders, STATUS_TEXT, setPath } from './faults.ts';
import { DEFAULT_FAMILIES, hourlyUsageRoutes } from './hourly-usage.ts';
import { listenOnLoopback, serverLifetime } from './loopback.ts';
import { Model, type Routes, recordId, type SimConfig } from './model.ts';
import { rateLimitWindow } from './rate-limit.ts';
import { decodeCursor, encodeCursor, errorsJson, HttpError, type Params, param } from './request.ts';
import { summaryRoutes } from './summaries.ts';
import { usageAttributionRoutes } from './usage-attribution.ts';
import { VALIDATE_PATH, validateKey } from './validate.ts';

/** The keys the simulator accepts unless told otherwise (also the local runner's placeholder keys). */
export const SIMULATOR_KEYS = { apiKey: 'sim-api-key', appKey: 'sim-app-key' } as const;

export interface SimulatorOptions {
  /** Port to listen on; default 0 (ephemeral). The host is always 127.0.0.1. */
  port?: number;
  /** Accepted DD-API-KEY; default 'sim-api-key'. */
  apiKey?: string;
  /** Accepted DD-APPLICATION-KEY; default 'sim-app-key'. */
  appKey?: string;
  /** Permissions of the application key; default ['usage_read', 'billing_read']. */
  scopes?: string[];
  /** Default true; false makes parent-only endpoints answer 400 "non-parent org keys". */
  parentOrg?: boolean;
  /** Number of orgs, parent included; default 3. */
  orgs?: number;
  /** Product families that have hourly data; default a realistic set of 8. */
  productFamilies?: string[];
  /** Seed of the deterministic data; default 1. */
  seed?: number;
  /** Default `page[limit]` of hourly_usage; default 500 (the spec default). */
  defaultPageLimit?: number;
  /** Page size of cost_attribution and usage_attribution; default 50. */
  attributionPageSize?: number;
  /**
   * Calendar-aligned windows of `periodSeconds`; default 1000 per 60 s. Headers are always sent.
   * `secondMs` scales the clock of the limit (default 1000): at 10, a 6 s period lasts 60 ms and the
   * headers still say 6 s, so a test sees hours of rate-limited paging in seconds.
   */
  rateLimit?: { limit: number; periodSeconds: number; secondMs?: number };
  /** Clock for data availability (not for rate-limit windows, which use the real clock). */
  now?: () => Date;
  /** 'ddog-gov.com' (US1-FED) makes cost_attribution answer 400. */
  site?: string;
}

export interface ServedRecord {
  category: string;
  id: string;
}

export interface DatadogSimulator {
  /** e.g. http://127.0.0.1:40123 */
  url: string;
  port: number;
  close(): Promise<void>;
  /** Every request received, in arrival order; `status` is filled in when the answer starts. */
  requests: Array<{
    method: string;
    path: string;
    query: Record<string, string>;
    status: number;
    headers: Record<string, string | string[] | undefined>;
    /** When it arrived (epoch ms). */
    at: number;
  }>;
  /** Every record sent in a 2xx response body, in order (re-served records appear again). */
  served: ServedRecord[];
  faults: FaultQueue;
  /** The full record set the endpoint has for these query params (pagination ignored). Throws on bad params. */
  expected(category: string, params: Record<string, string>): unknown[];
  /** Stable unique id of a record as served; see `recordId` in model.ts for the rule per category. */
  recordId(category: string, record: unknown): string;
}

const NON_PARENT = 'API called with non-parent org keys. Data is only available at the root level org';

function firstParams(sp: URLSearchParams): Params {
  const out: Params = {};
  for (const [k, v] of sp) if (!(k in out)) out[k] = v;
  return out;
}

/** Starts the simulator on 127.0.0.1 and resolves once it listens. */
export async function startSimulator(opts: SimulatorOptions = {}): Promise<DatadogSimulator> {
  const cfg: SimConfig = {
    apiKey: opts.apiKey ?? SIMULATOR_KEYS.apiKey,
    appKey: opts.appKey ?? SIMULATOR_KEYS.appKey,
    scopes: new Set(opts.scopes ?? ['usage_read', 'billing_read']),
    parentOrg: opts.parentOrg ?? true,
    families: [...new Set(opts.productFamilies ?? DEFAULT_FAMILIES)].sort(),
    seed: opts.seed ?? 1,
    defaultPageLimit: opts.defaultPageLimit ?? 500,
    attributionPageSize: Math.max(1, opts.attributionPageSize ?? 50),
    limit: opts.rateLimit?.limit ?? 1000,
    periodSeconds: Math.max(1, opts.rateLimit?.periodSeconds ?? 60),
    secondMs: Math.max(1, opts.rateLimit?.secondMs ?? 1000),
    now: opts.now ?? (() => new Date()),
    site: opts.site ?? 'datadoghq.com',
  };
  const model = new Model(cfg, opts.orgs ?? 3);
  const routes: Routes = {
    ...hourlyUsageRoutes(model),
    ...summaryRoutes(model),
    ...costRoutes(model),
    ...costAttributionRoutes(model),
    ...usageAttributionRoutes(model),
  };
  const requests: DatadogSimulator['requests'] = [];
  const served: ServedRecord[] = [];
  const { faults, take: takeFault } = createFaultQueue();
  const rateLimit = rateLimitWindow(cfg.limit, cfg.periodSeconds, cfg.secondMs);
  /** Makes each emptyPage cursor distinct from every cursor sent before. */
  let emptyPages = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    req.resume();
    const rawUrl = req.url ?? '/';
    const url = new URL(rawUrl, 'http://127.0.0.1');
    const query = firstParams(url.searchParams);
    const entry = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query,
      status: 0,
      headers: { ...req.headers },
      at: Date.now(),
    };
    requests.push(entry);

    const send = (
      status: number,
      body: string,
      headers: Record<string, string>,
      contentType = 'application/json',
    ) => {
      entry.status = status;
      res.writeHead(status, {
        ...headers,
        'Content-Type': contentType,
        'Content-Length': String(Buffer.byteLength(body)),
      });
      res.end(body);
    };

    if (req.method === 'GET' && url.pathname === VALIDATE_PATH) {
      const answer = validateKey(req.headers['dd-api-key'], cfg.apiKey);
      const rl = rateLimit(answer.valid);
      return send(answer.status, answer.body, rl.headers);
    }

    const authed =
      req.headers['dd-api-key'] === cfg.apiKey && req.headers['dd-application-key'] === cfg.appKey;
    const rl = rateLimit(authed);
    if (!authed) return send(403, errorsJson(['Forbidden']), rl.headers);
    if (rl.over) return send(429, errorsJson(['Too many requests']), rl.headers);

    const normal = (): { status: number; body: string; category?: string; records?: unknown[] } => {
      const route = req.method === 'GET' ? routes[url.pathname] : undefined;
      if (!route) return { status: 404, body: errorsJson(['Not found']) };
      const needed = route.cost ? ['usage_read', 'billing_read'] : ['usage_read'];
      if (!needed.every((s) => cfg.scopes.has(s))) return { status: 403, body: errorsJson(['Forbidden']) };
      if (route.parentOnly && !cfg.parentOrg) return { status: 400, body: errorsJson([NON_PARENT]) };
      const unavailable = route.unavailable?.(cfg);
      if (unavailable) return { status: 400, body: errorsJson([unavailable]) };
      try {
        const r = route.handle(query, cfg.now().getTime());
        return { status: 200, body: JSON.stringify(r.body), category: route.category, records: r.records };
      } catch (err) {
        if (err instanceof HttpError) return { status: err.status, body: errorsJson([err.message]) };
        return { status: 500, body: errorsJson(['Internal Server Error']) };
      }
    };

    const sendNormal = (r: ReturnType<typeof normal>) => {
      if (r.status >= 200 && r.status < 300 && r.category && r.records) {
        for (const rec of r.records) served.push({ category: r.category, id: recordId(r.category, rec) });
      }
      return send(r.status, r.body, rl.headers);
    };

    const fault = takeFault(rawUrl);
    if (fault?.kind === 'delay') await lifetime.sleep(Math.max(0, fault.ms));
    if (res.destroyed) return;

    switch (fault?.kind) {
      case 'status': {
        // A simulated 429 says "nothing left, retry in 1 s" unless the fault overrides the headers.
        const limited: Record<string, string> =
          fault.status === 429 ? { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '1' } : {};
        const body = fault.body ?? errorsJson([STATUS_TEXT[fault.status] ?? 'Error']);
        return send(fault.status, body, mergeHeaders(rl.headers, limited, fault.headers));
      }
      case 'reset': {
        entry.status = 200;
        res.writeHead(200, { ...rl.headers, 'Content-Type': 'application/json' });
        res.write('{"data":[{"id":"', () => {
          req.socket.destroy();
        });
        return;
      }
      case 'truncate': {
        const r = normal();
        const body = r.body.slice(0, Math.max(1, Math.floor(r.body.length / 2)));
        return send(200, body, rl.headers);
      }
      case 'html':
        return send(
          200,
          '<!DOCTYPE html><html><head><title>Maintenance</title></head><body><h1>We will be back soon</h1></body></html>',
          rl.headers,
          'text/html; charset=utf-8',
        );
      case 'emptyPage':
      case 'repeatCursor': {
        const r = normal();
        const route = routes[url.pathname];
        if (r.status !== 200 || !route?.cursor) return sendNormal(r);
        const cursor = route.cursor;
        const asked = param(query, cursor.param);
        const nowMs = cfg.now().getTime();
        if (fault.kind === 'repeatCursor') {
          const body = JSON.parse(r.body) as unknown;
          setPath(body, cursor.path, asked ?? cursor.start(query, nowMs));
          return sendNormal({ ...r, body: JSON.stringify(body) });
        }
        // The same position as the request's cursor (or the first record), spelled anew.
        const position = decodeCursor(asked ?? cursor.start(query, nowMs)) ?? {};
        emptyPages += 1;
        const next = encodeCursor({ ...(position as Record<string, number | string>), e: emptyPages });
        const body: Record<string, unknown> = { [cursor.recordsField]: [] };
        setPath(body, cursor.path, next);
        return send(200, JSON.stringify(body), rl.headers);
      }
      default:
        return sendNormal(normal());
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(errorsJson(['Internal Server Error']));
      } else {
        res.destroy();
      }
    });
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  const lifetime = serverLifetime(server);
  const { url, port } = await listenOnLoopback(server, opts.port);

  return {
    url,
    port,
    requests,
    served,
    faults,
    close: lifetime.close,
    expected(category, params) {
      const route = Object.values(routes).find((r) => r.category === category);
      if (!route) throw new Error(`Unknown category: ${category}`);
      try {
        return route.expected(params, cfg.now().getTime());
      } catch (err) {
        if (err instanceof HttpError) throw new Error(`${category}: ${err.message}`);
        throw err;
      }
    },
    recordId,
  };
}
