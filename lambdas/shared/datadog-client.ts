import { Agent, type Dispatcher, request } from 'undici';
import {
  DatadogAuthError,
  DatadogRequestError,
  DatadogUnavailableError,
  RateLimitedError,
  ResponseTooLargeError,
  SecretError,
} from './errors.ts';
import { keyFormatProblem } from './key-format.ts';
import { apiOrigin, type DatadogSite, isDatadogSite } from './sites.ts';

export const USER_AGENT = 'datadog-usage-lake/0.1';
/** Timestamps as RFC 3339, so Athena can parse them (reference §1.3). */
export const ACCEPT = 'application/json;datetime-format=rfc3339';

/**
 * The most of a response body the client reads: 32 MiB, over 150 times a real page (a 500-record
 * hourly page is about 200 KB) and far above the largest unpaginated answer, yet small enough that
 * the text and its parsed form fit the 512 MB fetch function. A larger body is refused as it streams.
 */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/**
 * The longest rate-limit period or reset the client reports, in seconds: Datadog's windows are
 * calendar-aligned and at most an hour, so a larger `X-RateLimit-Reset` (or `-Period`) is hostile or
 * broken, and must not become a Wait state of years (or a timer that overflows).
 */
export const MAX_RATE_LIMIT_SECONDS = 3600;

/** Longest `X-RateLimit-Name` the client reports: it goes into manifests, work items and messages. */
const MAX_RATE_LIMIT_NAME = 128;

/** What replaces a key found in anything the client reports. */
export const REDACTED = '[redacted]';

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
  /** Largest response body read; default {@link MAX_RESPONSE_BYTES}. */
  maxResponseBytes?: number;
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
      | 'maxResponseBytes'
      | 'sleep'
      | 'random'
    >
  >;

  constructor(options: DatadogClientOptions) {
    this.origin = options.baseUrlOverride
      ? new URL(options.baseUrlOverride).origin
      : assertDatadogOrigin(apiOrigin(options.site)).origin;
    // A key that cannot be a header would fail every request like an outage: refuse it here, once.
    for (const [name, key] of [
      ['apiKey', options.apiKey],
      ['appKey', options.appKey],
    ] as const) {
      const problem = keyFormatProblem(key);
      if (problem) throw new SecretError(`the Datadog ${name} ${problem}`);
    }
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
      maxResponseBytes: options.maxResponseBytes ?? MAX_RESPONSE_BYTES,
      sleep: options.sleep ?? sleepFor,
      random: options.random ?? Math.random,
    };
  }

  /** Full-jitter exponential backoff. */
  #backoff(attempt: number): number {
    const cap = Math.min(this.#o.maxDelayMs, this.#o.baseDelayMs * 2 ** attempt);
    return Math.round(cap * (0.5 + this.#o.random() / 2));
  }

  /** Removes the keys in use from text the server may have written (an error body echoing headers). */
  #redact(text: string): string {
    let out = text;
    for (const key of [this.#apiKey, this.#appKey]) out = out.replace(keyPattern(key), REDACTED);
    return out;
  }

  /**
   * GETs `path` and parses the JSON answer. Every error leaves without the keys: messages built from
   * the server's words are redacted, and so is anything else thrown (message and stack).
   */
  async get(
    path: string,
    query: Record<string, string>,
    options: RequestOptions = {},
  ): Promise<DatadogResponse> {
    try {
      return await this.#get(path, query, options);
    } catch (error) {
      throw this.#redactError(error);
    }
  }

  /**
   * The rate-limit state as the rest of the pipeline keeps it (work items, manifests, messages): the
   * name redacted, then cut to {@link MAX_RATE_LIMIT_NAME}, in that order so no piece of a key stays.
   */
  #rateLimitOf(headers: Record<string, string | string[] | undefined>): RateLimitState {
    const rl = readRateLimit(headers);
    if (rl.name !== undefined) rl.name = this.#redact(rl.name).slice(0, MAX_RATE_LIMIT_NAME);
    return rl;
  }

  #redactError(error: unknown): unknown {
    if (!(error instanceof Error)) return error;
    error.message = this.#redact(error.message);
    if (error.stack) error.stack = this.#redact(error.stack);
    return error;
  }

  async #get(path: string, query: Record<string, string>, options: RequestOptions): Promise<DatadogResponse> {
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
        rateLimit = this.#rateLimitOf(res.headers);
        text = await readBody(res, this.#o.maxResponseBytes, path);
      } catch (error) {
        // An oversized answer is not an outage: retrying it would only fetch it again.
        if (error instanceof ResponseTooLargeError) throw error;
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
        // Redacted before it is cut to length, so no part of a key survives the cut.
        const detail = errorDetail(this.#redact(text));
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

const seconds = (n: number | undefined) =>
  n === undefined ? undefined : Math.min(MAX_RATE_LIMIT_SECONDS, Math.max(0, n));

/**
 * The `X-RateLimit-*` headers. Period and reset are capped at {@link MAX_RATE_LIMIT_SECONDS} (and the
 * reset at the period, as Datadog's windows are calendar-aligned), so no header can ask for a longer
 * wait than that, inline or in a Wait state.
 */
export function readRateLimit(headers: Record<string, string | string[] | undefined>): RateLimitState {
  const state: RateLimitState = {};
  const limit = headerNumber(headers['x-ratelimit-limit']);
  const period = seconds(headerNumber(headers['x-ratelimit-period']));
  const remaining = headerNumber(headers['x-ratelimit-remaining']);
  let reset = seconds(headerNumber(headers['x-ratelimit-reset']));
  if (reset !== undefined && period !== undefined && period > 0) reset = Math.min(reset, period);
  const name = headers['x-ratelimit-name'];
  if (limit !== undefined) state.limit = limit;
  if (period !== undefined) state.period = period;
  if (remaining !== undefined) state.remaining = remaining;
  if (reset !== undefined) state.reset = reset;
  if (typeof name === 'string') state.name = name;
  return state;
}

/**
 * The body as text, read chunk by chunk and refused with a ResponseTooLargeError (the connection
 * dropped) as soon as it passes `max` bytes, or at once when its Content-Length says it will.
 */
async function readBody(res: Dispatcher.ResponseData, max: number, path: string): Promise<string> {
  const tooLarge = () => {
    res.body.destroy();
    return new ResponseTooLargeError(
      `GET ${path} answered ${res.statusCode} with a body over ${max} bytes, the most the client reads; refused instead of exhausting the function's memory`,
      { method: 'GET', path, status: res.statusCode },
    );
  };
  if ((headerNumber(res.headers['content-length']) ?? 0) > max) throw tooLarge();
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of res.body) {
    bytes += (chunk as Buffer).length;
    if (bytes > max) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  // TextDecoder, as undici's body.text() does: UTF-8, a byte-order mark dropped.
  return new TextDecoder().decode(Buffer.concat(chunks, bytes));
}

/** Every occurrence of `key`, in any letter case (a server may echo a header upper-cased). */
function keyPattern(key: string): RegExp {
  return new RegExp(key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi');
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
