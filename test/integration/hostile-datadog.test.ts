/**
 * The Datadog client against a hostile (or broken) server in Datadog's place, on loopback: answers
 * far larger than any page, rate-limit headers that ask for years, error bodies that repeat the
 * keys, and keys no header can carry. The client bounds each of them (faults.test.ts follows the
 * oversized page and the long reset through the state machine).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  DatadogClient,
  MAX_RATE_LIMIT_SECONDS,
  MAX_RESPONSE_BYTES,
  REDACTED,
} from '../../lambdas/shared/datadog-client.ts';
import {
  DatadogRequestError,
  RateLimitedError,
  ResponseTooLargeError,
  SecretError,
} from '../../lambdas/shared/errors.ts';
import {
  emptyPage,
  type HostileServer,
  json,
  MIB,
  type Streamed,
  startHostile,
  streamOf,
} from '../support/hostile-server.ts';

const PATH = '/api/v2/usage/hourly_usage';
const API_KEY = 'hostile-api-key-0123456789abcdef';
const APP_KEY = 'hostile-app-key-0123456789abcdef0123';

let hostile: HostileServer;
let sleeps: number[];

beforeAll(async () => {
  hostile = await startHostile();
});
afterAll(async () => hostile.close());
beforeEach(() => {
  hostile.requests.length = 0;
  hostile.answers.length = 0;
  hostile.fallback = emptyPage;
  sleeps = [];
});

function client(keys: { apiKey?: string; appKey?: string } = {}): DatadogClient {
  return new DatadogClient({
    site: 'datadoghq.com',
    apiKey: keys.apiKey ?? API_KEY,
    appKey: keys.appKey ?? APP_KEY,
    baseUrlOverride: hostile.url,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0,
  });
}

/** Awaits `act`, expecting it to reject, and returns the error. */
async function rejection(act: () => Promise<unknown>): Promise<Error> {
  try {
    await act();
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return error as Error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

describe('Function: DatadogClient.get, an answer larger than any page', () => {
  it(`refuses a body streaming past ${MAX_RESPONSE_BYTES} bytes while it streams, once, with ResponseTooLargeError`, async () => {
    // Prepare: 64 MiB without a Content-Length, each time it is asked
    const streamed: Streamed = { sent: 0, closed: false, finished: false };
    const total = 2 * MAX_RESPONSE_BYTES;
    hostile.fallback = streamOf(total, streamed);

    // Act
    const error = await rejection(() => client().get(PATH, {}));

    // Assess
    expect(error).toBeInstanceOf(ResponseTooLargeError);
    expect(error.name).toBe('ResponseTooLargeError');
    expect(error.message).toBe(
      `GET ${PATH} answered 200 with a body over ${MAX_RESPONSE_BYTES} bytes, the most the client reads; refused instead of exhausting the function's memory`,
    );
    expect((error as ResponseTooLargeError).status).toBe(200);
    expect(hostile.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
    // The client hung up mid-body: the server never got to send it all.
    await vi.waitFor(() => expect(streamed.closed).toBe(true));
    expect(streamed.finished).toBe(false);
    expect(streamed.sent).toBeLessThan(total);
  });

  it('refuses a Content-Length over the cap before reading the body', async () => {
    // Prepare: says 150 MB, sends a little, then waits
    hostile.fallback = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(150_000_000) });
      res.write('{"data":[');
    };

    // Act
    const error = await rejection(() => client().get(PATH, {}));

    // Assess
    expect(error).toBeInstanceOf(ResponseTooLargeError);
    expect(hostile.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('reads a page just under the cap', async () => {
    // Prepare
    const streamed: Streamed = { sent: 0, closed: false, finished: false };
    hostile.fallback = streamOf(MAX_RESPONSE_BYTES - MIB, streamed);

    // Act
    const res = await client().get(PATH, {});

    // Assess
    expect(res.body).toEqual({ data: [] });
    expect(res.bytes).toBe(MAX_RESPONSE_BYTES - MIB + '{"data":[]}'.length);
  });
});

describe('Function: DatadogClient.get, rate-limit headers that ask for years', () => {
  const TEN_YEARS = '315360000';

  it(`caps a 429's X-RateLimit-Reset of ten years at ${MAX_RATE_LIMIT_SECONDS} s`, async () => {
    // Prepare
    hostile.answers.push((_req, res) =>
      json(
        res,
        429,
        { errors: ['Too many requests'] },
        { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': TEN_YEARS },
      ),
    );

    // Act
    const error = await rejection(() => client().get(PATH, {}));

    // Assess
    expect(error).toBeInstanceOf(RateLimitedError);
    const limited = error as RateLimitedError;
    expect(limited.retryAfterSeconds).toBe(MAX_RATE_LIMIT_SECONDS);
    expect(limited.rateLimit).toEqual({ remaining: 0, reset: MAX_RATE_LIMIT_SECONDS });
    expect(sleeps).toEqual([]);
  });

  it('caps a reset at the period the same answer gives', async () => {
    // Prepare
    hostile.answers.push((_req, res) =>
      json(
        res,
        429,
        { errors: ['Too many requests'] },
        { 'x-ratelimit-period': '60', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': TEN_YEARS },
      ),
    );

    // Act
    const error = await rejection(() => client().get(PATH, {}));

    // Assess
    expect((error as RateLimitedError).retryAfterSeconds).toBe(60);
  });

  it(`caps a 200's reset and period of ten years at ${MAX_RATE_LIMIT_SECONDS} s, and a negative reset at 0`, async () => {
    // Prepare
    const headers = (reset: string) => ({
      'x-ratelimit-limit': '10',
      'x-ratelimit-period': TEN_YEARS,
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': reset,
    });
    hostile.answers.push((_req, res) => json(res, 200, { data: [] }, headers(TEN_YEARS)));
    hostile.answers.push((_req, res) => json(res, 200, { data: [] }, headers('-5')));

    // Act
    const long = await client().get(PATH, {});
    const negative = await client().get(PATH, {});

    // Assess
    expect(long.rateLimit).toEqual({
      limit: 10,
      period: MAX_RATE_LIMIT_SECONDS,
      remaining: 0,
      reset: MAX_RATE_LIMIT_SECONDS,
    });
    expect(negative.rateLimit.reset).toBe(0);
  });
});

describe('Function: DatadogClient.get, an error body that repeats the keys', () => {
  it('replaces the keys in the message and the stack, wherever the server put them', async () => {
    // Prepare: a 400 that reflects the request's headers back
    hostile.answers.push((req, res) =>
      json(res, 400, {
        errors: [
          `Bad request, DD-API-KEY=${req.headers['dd-api-key']} DD-APPLICATION-KEY=${req.headers['dd-application-key']}`,
          { detail: `headers: ${JSON.stringify(req.headers).toUpperCase()}` },
        ],
      }),
    );

    // Act
    const error = await rejection(() => client().get(PATH, {}));

    // Assess
    expect(error).toBeInstanceOf(DatadogRequestError);
    expect(error.message).toContain(`DD-API-KEY=${REDACTED} DD-APPLICATION-KEY=${REDACTED}`);
    for (const text of [error.message, error.stack ?? '', JSON.stringify(error)]) {
      expect(text.toLowerCase()).not.toContain(API_KEY);
      expect(text.toLowerCase()).not.toContain(APP_KEY);
    }
  });

  it('redacts a rate-limit name before cutting it to 128 characters', async () => {
    // Prepare: a name whose key would straddle the cut
    const name = `${'n'.repeat(120)}${API_KEY}`;
    hostile.answers.push((_req, res) =>
      json(
        res,
        429,
        { errors: ['Too many requests'] },
        { 'x-ratelimit-limit': '1', 'x-ratelimit-reset': '60', 'x-ratelimit-name': name },
      ),
    );

    // Act
    const error = (await rejection(() => client().get(PATH, {}))) as RateLimitedError;

    // Assess
    expect(error.rateLimit.name).toBe(`${'n'.repeat(120)}${REDACTED}`.slice(0, 128));
    for (const text of [error.message, error.stack ?? '', JSON.stringify(error)]) {
      expect(text).not.toContain(API_KEY.slice(0, 11));
    }
  });

  it('leaves no piece of a key that straddles the 300-character cut of the detail', async () => {
    // Prepare
    hostile.answers.push((_req, res) => json(res, 400, { errors: [`${'x'.repeat(290)}${API_KEY}`] }));

    // Act
    const error = await rejection(() => client().get(PATH, {}));

    // Assess
    expect(error.message).not.toContain(API_KEY.slice(0, 11));
    expect(error.message).toContain(`${'x'.repeat(290)}${REDACTED}`);
  });
});

describe('Function: DatadogClient, keys no HTTP header can carry', () => {
  it.each([
    ['a CR/LF and a header after it in the API key', { apiKey: `${API_KEY}\r\nX-Injected: 1` }, 'apiKey', 33],
    ['a character beyond Latin-1 in the application key', { appKey: `${APP_KEY}\u20ac` }, 'appKey', 37],
    ['a space in the API key', { apiKey: `${API_KEY} ` }, 'apiKey', 33],
  ])(
    'refuses %s with a SecretError, before any request, without the key',
    async (_label, keys, field, at) => {
      // Act
      const error = await rejection(async () => client(keys).get(PATH, {}));

      // Assess
      expect(error).toBeInstanceOf(SecretError);
      expect(error.message).toBe(
        `the Datadog ${field} has a character an HTTP header cannot carry at position ${at}; expected 1 to 256 printable ASCII characters without spaces (Datadog keys are hexadecimal)`,
      );
      expect(error.message).not.toContain(API_KEY);
      expect(error.message).not.toContain(APP_KEY);
      expect(hostile.requests).toEqual([]);
      expect(sleeps).toEqual([]);
    },
  );
});
