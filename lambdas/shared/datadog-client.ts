import { Agent, type Dispatcher, request } from 'undici';
import {
  DatadogAuthError,
  DatadogRequestError,
  DatadogUnavailableError,
  RateLimitedError,
} from './errors.ts';
import { apiOrigin, type DatadogSite, isDatadogSite } from './sites.ts';

export const USER_AGENT = 'datadog-usage-lake/0.1';
/** Timestamps as RFC 3339, so Athena can parse them (reference §1.3). */
export const ACCEPT = 'application/json;datetime-format=rfc3339';

/** What the `X-RateLimit-*` headers said on the last response. */
export interface RateLimitState {
  limit?: number;
  period?: number;
  remaining?: number;
  reset?: number;
  name?: string;
}

export interface DatadogResponse {
  status: number;
  body: unknown;
  /** Size of the response body in bytes. */
  bytes: number;
  rateLimit: RateLimitState;
  /** Retries this request took (network errors, 5xx, short 429 waits). */
  retries: number;
  /** Short 429 waits among those retries. */
  throttles: number;
}

export interface DatadogClientOptions {
  site: DatadogSite;
  apiKey: string;
  appKey: string;
  /**
   * Replaces `https://api.<site>`. Only the local runner and tests set it; the deployed Lambdas never
   * do, so no execution input can point a deployed function at another host.
   */
  baseUrlOverride?: string;
  dispatcher?: Dispatcher;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  /** Retries of network errors, 5xx and unreadable bodies. */
  maxRetries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** 429s that say "reset in at most this long" are waited out here; longer ones go back to the caller. */
  maxInlineWaitMs?: number;
  maxInlineWaits?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export interface RequestOptions {
  /** Permissions the endpoint needs, to name them in a 403's message. */
  permissions?: readonly string[];
}

let sharedAgent: Agent | undefined;

/** One keep-alive agent per container: pages of a window reuse the same TLS connection. */
export function defaultAgent(): Agent {
  sharedAgent ??= new Agent({
    keepAliveTimeout: 10_000,
    keepAliveMaxTimeout: 60_000,
    connections: 8,
    connect: { timeout: 10_000 },
  });
  return sharedAgent;
}

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const NON_PARENT = /non-parent org/i;

/** Validates a Datadog origin: https, `api.<one of the nine sites>`, nothing else in the authority. */
export function assertDatadogOrigin(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DatadogRequestError(`refusing to send Datadog keys to an unparsable URL`, {
      method: 'GET',
      path: '',
    });
  }
  const site = parsed.hostname.startsWith('api.') ? parsed.hostname.slice(4) : '';
  if (
    parsed.protocol !== 'https:' ||
    !isDatadogSite(site) ||
    parsed.username !== '' ||
    parsed.password !== '' ||
    parsed.port !== ''
  ) {
    throw new DatadogRequestError(
      `refusing to send Datadog keys to ${parsed.protocol}//${parsed.host}: keys only go to https://api.<site> for a Datadog site`,
      { method: 'GET', path: '' },
    );
  }
  return parsed;
}

/** A small Datadog HTTP client: auth headers, timeouts, bounded jittered retries, named errors. */
export class DatadogClient {
  readonly origin: string;
  readonly #apiKey: string;
  readonly #appKey: string;
  readonly #dispatcher: Dispatcher;
  readonly #o: Required<
    Pick<
      DatadogClientOptions,
      | 'headersTimeoutMs'
      | 'bodyTimeoutMs'
      | 'maxRetries'
      | 'baseDelayMs'
      | 'maxDelayMs'
      | 'maxInlineWaitMs'
      | 'maxInlineWaits'
      | 'sleep'
      | 'random'
    >
  >;

  constructor(options: DatadogClientOptions) {
    this.origin = options.baseUrlOverride
      ? new URL(options.baseUrlOverride).origin
      : assertDatadogOrigin(apiOrigin(options.site)).origin;
    this.#apiKey = options.apiKey;
    this.#appKey = options.appKey;
    this.#dispatcher = options.dispatcher ?? defaultAgent();
    this.#o = {
      headersTimeoutMs: options.headersTimeoutMs ?? 30_000,
      bodyTimeoutMs: options.bodyTimeoutMs ?? 60_000,
      maxRetries: options.maxRetries ?? 3,
      baseDelayMs: options.baseDelayMs ?? 500,
      maxDelayMs: options.maxDelayMs ?? 8_000,
      maxInlineWaitMs: options.maxInlineWaitMs ?? 5_000,
      maxInlineWaits: options.maxInlineWaits ?? 3,
      sleep: options.sleep ?? sleepFor,
      random: options.random ?? Math.random,
    };
  }

  /** Full-jitter exponential backoff. */
  #backoff(attempt: number): number {
    const cap = Math.min(this.#o.maxDelayMs, this.#o.baseDelayMs * 2 ** attempt);
    return Math.round(cap * (0.5 + this.#o.random() / 2));
  }

  async get(
    path: string,
    query: Record<string, string>,
    options: RequestOptions = {},
  ): Promise<DatadogResponse> {
    const url = new URL(path, this.origin);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    let retries = 0;
    let throttles = 0;
    for (;;) {
      let status: number;
      let text: string;
      let rateLimit: RateLimitState;
      try {
        const res = await request(url, {
          method: 'GET',
          dispatcher: this.#dispatcher,
          headers: {
            accept: ACCEPT,
            'user-agent': USER_AGENT,
            'dd-api-key': this.#apiKey,
            'dd-application-key': this.#appKey,
          },
          headersTimeout: this.#o.headersTimeoutMs,
          bodyTimeout: this.#o.bodyTimeoutMs,
        });
        status = res.statusCode;
        rateLimit = readRateLimit(res.headers);
        text = await res.body.text();
      } catch (error) {
        if (retries < this.#o.maxRetries) {
          await this.#o.sleep(this.#backoff(retries++));
          continue;
        }
        throw new DatadogUnavailableError(
          `GET ${path} failed after ${retries + 1} attempts: ${networkReason(error)}`,
          { method: 'GET', path, cause: error },
        );
      }
      if (status === 429) {
        const resetMs = (rateLimit.reset ?? 0) * 1000;
        if (resetMs > 0 && resetMs <= this.#o.maxInlineWaitMs && throttles < this.#o.maxInlineWaits) {
          throttles++;
          retries++;
          await this.#o.sleep(resetMs + Math.round(this.#o.random() * 250));
          continue;
        }
        if (rateLimit.reset === undefined && retries < this.#o.maxRetries) {
          throttles++;
          await this.#o.sleep(this.#backoff(retries++));
          continue;
        }
        throw new RateLimitedError(
          `GET ${path} answered 429 Too Many Requests${rateLimitSuffix(rateLimit)}`,
          {
            method: 'GET',
            path,
            status,
            retryAfterSeconds: Math.max(1, rateLimit.reset ?? 60),
            rateLimit: { ...rateLimit },
          },
        );
      }
      if (status >= 500) {
        if (retries < this.#o.maxRetries) {
          await this.#o.sleep(this.#backoff(retries++));
          continue;
        }
        throw new DatadogUnavailableError(
          `GET ${path} answered ${status} after ${retries + 1} attempts; Datadog is unavailable, try again later`,
          { method: 'GET', path, status },
        );
      }
      if (status === 401 || status === 403) {
        const needs = options.permissions?.length ? options.permissions.join(' and ') : 'usage_read';
        throw new DatadogAuthError(
          `GET ${path} answered ${status} ${status === 401 ? 'Unauthorized' : 'Forbidden'}: the API key is invalid, or the application key lacks the ${needs} permission (scope). Check the keys in the secret and the application key's scopes.`,
          { method: 'GET', path, status },
        );
      }
      if (status < 200 || status >= 300) {
        const detail = errorDetail(text);
        const hint = NON_PARENT.test(detail)
          ? ' This endpoint only answers keys of the parent organization; these keys belong to a child org. Use API and application keys created in the parent org.'
          : '';
        throw new DatadogRequestError(`GET ${path} answered ${status}: ${detail}.${hint}`, {
          method: 'GET',
          path,
          status,
        });
      }
      try {
        return {
          status,
          body: JSON.parse(text),
          bytes: Buffer.byteLength(text),
          rateLimit,
          retries,
          throttles,
        };
      } catch (error) {
        if (retries < this.#o.maxRetries) {
          await this.#o.sleep(this.#backoff(retries++));
          continue;
        }
        throw new DatadogUnavailableError(`GET ${path} answered ${status} with a body that is not JSON`, {
          method: 'GET',
          path,
          status,
          cause: error,
        });
      }
    }
  }
}

function headerNumber(value: string | string[] | undefined): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) ? n : undefined;
}

export function readRateLimit(headers: Record<string, string | string[] | undefined>): RateLimitState {
  const state: RateLimitState = {};
  const limit = headerNumber(headers['x-ratelimit-limit']);
  const period = headerNumber(headers['x-ratelimit-period']);
  const remaining = headerNumber(headers['x-ratelimit-remaining']);
  const reset = headerNumber(headers['x-ratelimit-reset']);
  const name = headers['x-ratelimit-name'];
  if (limit !== undefined) state.limit = limit;
  if (period !== undefined) state.period = period;
  if (remaining !== undefined) state.remaining = remaining;
  if (reset !== undefined) state.reset = reset;
  if (typeof name === 'string') state.name = name;
  return state;
}

function rateLimitSuffix(rl: RateLimitState): string {
  if (rl.limit === undefined) return '';
  return ` (limit ${rl.limit} per ${rl.period ?? '?'} s, reset in ${rl.reset ?? '?'} s${rl.name ? `, ${rl.name}` : ''})`;
}

/** Datadog's own words from an error body (both 400 shapes), bounded in length. */
function errorDetail(text: string): string {
  let detail = text;
  try {
    const parsed = JSON.parse(text) as { errors?: unknown };
    if (Array.isArray(parsed.errors)) {
      detail = parsed.errors
        .map((e) =>
          typeof e === 'string'
            ? e
            : ((e as { detail?: string; title?: string }).detail ?? JSON.stringify(e)),
        )
        .join('; ');
    }
  } catch {
    // not JSON: keep the text
  }
  detail = detail.replace(/\s+/g, ' ').trim();
  return detail.length > 300 ? `${detail.slice(0, 300)}…` : detail || 'no detail';
}

function networkReason(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    return code ? `${error.name} (${code})` : error.name;
  }
  return 'network error';
}
