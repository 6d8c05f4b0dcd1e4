import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ACCEPT,
  assertDatadogOrigin,
  DatadogClient,
  type DatadogClientOptions,
  USER_AGENT,
} from '../../lambdas/shared/datadog-client.ts';
import {
  DatadogAuthError,
  DatadogRequestError,
  DatadogUnavailableError,
  RateLimitedError,
} from '../../lambdas/shared/errors.ts';
import { DATADOG_SITES } from '../../lambdas/shared/sites.ts';

const ORIGIN = 'http://dd.test';
const PATH = '/api/v2/usage/hourly_usage';
const API_KEY = 'APIKEY-SECRET-123';
const APP_KEY = 'APPKEY-SECRET-456';
const JSON_HEADERS = { 'content-type': 'application/json' };

let mock: MockAgent;
let sleeps: number[];

beforeEach(() => {
  mock = new MockAgent({ enableCallHistory: true });
  mock.disableNetConnect();
  sleeps = [];
});

afterEach(async () => {
  await mock.close();
});

function client(overrides: Partial<DatadogClientOptions> = {}): DatadogClient {
  return new DatadogClient({
    site: 'datadoghq.com',
    apiKey: API_KEY,
    appKey: APP_KEY,
    baseUrlOverride: ORIGIN,
    dispatcher: mock,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0,
    ...overrides,
  });
}

function intercept(path = PATH) {
  return mock.get(ORIGIN).intercept({ path: (p) => p === path || p.startsWith(`${path}?`), method: 'GET' });
}

/** Awaits `promise`, expecting it to reject, and returns the error. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return error as Error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

function expectNoKeys(error: Error): void {
  expect(error.message).not.toContain(API_KEY);
  expect(error.message).not.toContain(APP_KEY);
  expect(JSON.stringify(error)).not.toContain(API_KEY);
  expect(JSON.stringify(error)).not.toContain(APP_KEY);
}

describe('Function: DatadogClient.get', () => {
  it('sends the keys, the RFC 3339 Accept header, a user-agent and the query', async () => {
    // Prepare
    intercept().reply(200, { data: [] }, { headers: JSON_HEADERS });

    // Act
    await client().get(PATH, { 'filter[timestamp][start]': '2026-09-01T00', 'page[limit]': '500' });

    // Assess
    const call = mock.getCallHistory()?.lastCall();
    expect(call?.method).toBe('GET');
    expect(call?.path).toBe(PATH);
    expect(call?.searchParams).toEqual({ 'filter[timestamp][start]': '2026-09-01T00', 'page[limit]': '500' });
    const headers = call?.headers as Record<string, string>;
    expect(headers['dd-api-key']).toBe(API_KEY);
    expect(headers['dd-application-key']).toBe(APP_KEY);
    expect(headers.accept).toBe('application/json;datetime-format=rfc3339');
    expect(ACCEPT).toBe('application/json;datetime-format=rfc3339');
    expect(headers['user-agent']).toBe(USER_AGENT);
    expect(headers['user-agent']).toMatch(/^datadog-usage-lake\//);
  });

  it('returns the parsed body, its size and the rate-limit state from the X-RateLimit-* headers', async () => {
    // Prepare
    const body = { data: [{ id: 'r1', type: 'usage_timeseries', attributes: { product_family: 'logs' } }] };
    intercept().reply(200, JSON.stringify(body), {
      headers: {
        ...JSON_HEADERS,
        'x-ratelimit-limit': '60',
        'x-ratelimit-period': '10',
        'x-ratelimit-remaining': '59',
        'x-ratelimit-reset': '7',
        'x-ratelimit-name': 'usage_metering',
      },
    });

    // Act
    const res = await client().get(PATH, {});

    // Assess
    expect(res.status).toBe(200);
    expect(res.body).toEqual(body);
    expect(res.bytes).toBe(Buffer.byteLength(JSON.stringify(body)));
    expect(res.rateLimit).toEqual({ limit: 60, period: 10, remaining: 59, reset: 7, name: 'usage_metering' });
    expect(res.retries).toBe(0);
    expect(res.throttles).toBe(0);
    expect(sleeps).toEqual([]);
  });

  it('leaves out rate-limit fields whose headers are missing or not numbers', async () => {
    // Prepare
    intercept().reply(200, {}, { headers: { ...JSON_HEADERS, 'x-ratelimit-limit': 'lots' } });

    // Act
    const res = await client().get(PATH, {});

    // Assess
    expect(res.rateLimit).toEqual({});
  });

  it('retries a 500 and a 503, then returns the success and counts the retries', async () => {
    // Prepare
    intercept().reply(500, 'boom');
    intercept().reply(503, 'unavailable');
    intercept().reply(200, { data: [1] }, { headers: JSON_HEADERS });

    // Act
    const res = await client().get(PATH, {});

    // Assess
    expect(res.body).toEqual({ data: [1] });
    expect(res.retries).toBe(2);
    expect(res.throttles).toBe(0);
    expect(sleeps).toHaveLength(2);
    expect(mock.getCallHistory()?.calls()).toHaveLength(3);
  });

  it('backs off exponentially between retries, capped at maxDelayMs', async () => {
    // Prepare
    intercept().reply(500, '').times(4);
    intercept().reply(200, {});

    // Act
    await client({ maxRetries: 4, baseDelayMs: 100, maxDelayMs: 500, random: () => 1 }).get(PATH, {});

    // Assess
    expect(sleeps).toEqual([100, 200, 400, 500]);
  });

  it('gives up after maxRetries with a DatadogUnavailableError naming GET, the path and the status', async () => {
    // Prepare
    intercept().reply(503, 'down').times(3);

    // Act
    const error = await rejection(client({ maxRetries: 2 }).get(PATH, { 'page[limit]': '500' }));

    // Assess
    expect(error).toBeInstanceOf(DatadogUnavailableError);
    expect(error.name).toBe('DatadogUnavailableError');
    expect(error.message).toContain('GET');
    expect(error.message).toContain(PATH);
    expect(error.message).toContain('503');
    expect(error.message).toContain('after 3 attempts');
    expect((error as DatadogUnavailableError).status).toBe(503);
    expect((error as DatadogUnavailableError).path).toBe(PATH);
    expect(sleeps).toHaveLength(2);
    expect(mock.getCallHistory()?.calls()).toHaveLength(3);
    expectNoKeys(error);
  });

  it('retries a network error, then gives up with a DatadogUnavailableError', async () => {
    // Prepare
    intercept()
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))
      .times(2);

    // Act
    const error = await rejection(client({ maxRetries: 1 }).get(PATH, {}));

    // Assess
    expect(error).toBeInstanceOf(DatadogUnavailableError);
    expect(error.message).toContain(`GET ${PATH} failed after 2 attempts`);
    expect(sleeps).toHaveLength(1);
    expectNoKeys(error);
  });

  it('turns a 403 into a DatadogAuthError naming usage_read, without the keys', async () => {
    // Prepare
    intercept().reply(403, { errors: ['Forbidden'] }, { headers: JSON_HEADERS });

    // Act
    const error = await rejection(client().get(PATH, {}));

    // Assess
    expect(error).toBeInstanceOf(DatadogAuthError);
    expect(error.name).toBe('DatadogAuthError');
    expect(error.message).toContain(`GET ${PATH} answered 403`);
    expect(error.message).toContain('usage_read');
    expect(error.message).not.toContain('billing_read');
    expect((error as DatadogAuthError).status).toBe(403);
    expect(sleeps).toEqual([]);
    expectNoKeys(error);
  });

  it('names the permissions passed for the endpoint in a 403', async () => {
    // Prepare
    intercept('/api/v2/usage/estimated_cost').reply(
      403,
      { errors: ['Forbidden'] },
      { headers: JSON_HEADERS },
    );

    // Act
    const error = await rejection(
      client().get('/api/v2/usage/estimated_cost', {}, { permissions: ['usage_read', 'billing_read'] }),
    );

    // Assess
    expect(error).toBeInstanceOf(DatadogAuthError);
    expect(error.message).toContain('usage_read and billing_read');
    expectNoKeys(error);
  });

  it('turns a 401 into a DatadogAuthError too', async () => {
    // Prepare
    intercept().reply(401, '');

    // Act
    const error = await rejection(client().get(PATH, {}));

    // Assess
    expect(error).toBeInstanceOf(DatadogAuthError);
    expect((error as DatadogAuthError).status).toBe(401);
    expectNoKeys(error);
  });

  it('explains a 400 for child-org keys on a parent-only endpoint', async () => {
    // Prepare
    intercept('/api/v1/usage/billable-summary').reply(
      400,
      { errors: ['API called with non-parent org keys. Data is only available at the root level org'] },
      { headers: JSON_HEADERS },
    );

    // Act
    const error = await rejection(client().get('/api/v1/usage/billable-summary', { month: '2026-09' }));

    // Assess
    expect(error).toBeInstanceOf(DatadogRequestError);
    expect(error.name).toBe('DatadogRequestError');
    expect(error.message).toContain('GET /api/v1/usage/billable-summary answered 400');
    expect(error.message).toContain('non-parent org keys');
    expect(error.message).toContain('parent organization');
    expect((error as DatadogRequestError).status).toBe(400);
    expect(sleeps).toEqual([]);
    expectNoKeys(error);
  });

  it('puts the detail of a JSON:API 400 error in the message', async () => {
    // Prepare
    intercept().reply(
      400,
      {
        errors: [
          {
            status: '400',
            title: 'Bad Request',
            detail: 'filter[timestamp][start] is not a valid timestamp',
          },
          { status: '400', title: 'Bad Request', detail: 'page[limit] must be at most 500' },
        ],
      },
      { headers: JSON_HEADERS },
    );

    // Act
    const error = await rejection(client().get(PATH, {}));

    // Assess
    expect(error).toBeInstanceOf(DatadogRequestError);
    expect(error.message).toContain('filter[timestamp][start] is not a valid timestamp');
    expect(error.message).toContain('page[limit] must be at most 500');
    expect(error.message).not.toContain('parent organization');
    expectNoKeys(error);
  });

  it('keeps a non-JSON 404 body as the detail', async () => {
    // Prepare
    intercept().reply(404, 'Not   Found\n');

    // Act
    const error = await rejection(client().get(PATH, {}));

    // Assess
    expect(error).toBeInstanceOf(DatadogRequestError);
    expect(error.message).toBe(`GET ${PATH} answered 404: Not Found.`);
  });

  it('waits out a 429 with a short reset inline, then retries', async () => {
    // Prepare
    intercept().reply(
      429,
      { errors: ['Too many requests'] },
      {
        headers: { ...JSON_HEADERS, 'x-ratelimit-limit': '60', 'x-ratelimit-reset': '2' },
      },
    );
    intercept().reply(200, { data: ['ok'] }, { headers: JSON_HEADERS });

    // Act
    const res = await client().get(PATH, {});

    // Assess
    expect(res.body).toEqual({ data: ['ok'] });
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThanOrEqual(2000);
    expect(sleeps[0]).toBeLessThanOrEqual(2250);
    expect(res.throttles).toBe(1);
    expect(res.retries).toBe(1);
  });

  it('hands a 429 with a long reset back as a RateLimitedError with retryAfterSeconds', async () => {
    // Prepare
    intercept().reply(
      429,
      { errors: ['Too many requests'] },
      {
        headers: {
          ...JSON_HEADERS,
          'x-ratelimit-limit': '60',
          'x-ratelimit-period': '60',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': '30',
          'x-ratelimit-name': 'usage_metering',
        },
      },
    );

    // Act
    const error = await rejection(client().get(PATH, {}));

    // Assess
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error.name).toBe('RateLimitedError');
    const limited = error as RateLimitedError;
    expect(limited.retryAfterSeconds).toBe(30);
    expect(limited.status).toBe(429);
    expect(limited.rateLimit).toEqual({
      limit: 60,
      period: 60,
      remaining: 0,
      reset: 30,
      name: 'usage_metering',
    });
    expect(error.message).toContain(`GET ${PATH} answered 429`);
    expect(sleeps).toEqual([]);
    expectNoKeys(error);
  });

  it('hands a 429 back once the inline waits are used up', async () => {
    // Prepare
    intercept()
      .reply(429, '', { headers: { 'x-ratelimit-reset': '1' } })
      .times(3);

    // Act
    const error = await rejection(client({ maxInlineWaits: 2 }).get(PATH, {}));

    // Assess
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterSeconds).toBe(1);
    expect(sleeps).toEqual([1000, 1000]);
  });

  it('retries a 200 whose body is not JSON, then succeeds', async () => {
    // Prepare
    intercept().reply(200, '<html>truncated');
    intercept().reply(200, { data: [] }, { headers: JSON_HEADERS });

    // Act
    const res = await client().get(PATH, {});

    // Assess
    expect(res.body).toEqual({ data: [] });
    expect(res.retries).toBe(1);
    expect(sleeps).toHaveLength(1);
  });

  it('gives up on a 200 whose body stays unreadable with a DatadogUnavailableError', async () => {
    // Prepare
    intercept().reply(200, '{"data": [').times(4);

    // Act
    const error = await rejection(client().get(PATH, {}));

    // Assess
    expect(error).toBeInstanceOf(DatadogUnavailableError);
    expect(error.message).toBe(`GET ${PATH} answered 200 with a body that is not JSON`);
    expect((error as DatadogUnavailableError).status).toBe(200);
    expect(error.cause).toBeInstanceOf(SyntaxError);
    expect(sleeps).toHaveLength(3);
    expect(mock.getCallHistory()?.calls()).toHaveLength(4);
    expectNoKeys(error);
  });
});

describe('Function: assertDatadogOrigin', () => {
  it.each(DATADOG_SITES)('accepts https://api.%s', (site) => {
    // Act
    const url = assertDatadogOrigin(`https://api.${site}`);

    // Assess
    expect(url.origin).toBe(`https://api.${site}`);
  });

  it('has nine sites to accept', () => {
    // Assess
    expect(DATADOG_SITES).toHaveLength(9);
  });

  it.each([
    'https://evil.com',
    'https://api.datadoghq.com.evil.com',
    'https://api.datadoghq.com@evil.com',
    'https://user:pass@api.datadoghq.com',
    'https://127.0.0.1',
    'http://api.datadoghq.com',
    'https://api.datadoghq.com:8443',
    'https://datadoghq.com',
    'https://app.datadoghq.com',
    'https://api.evil.datadoghq.com',
    'not a url',
  ])('refuses %s', (url) => {
    // Act
    const act = () => assertDatadogOrigin(url);

    // Assess
    expect(act).toThrow(DatadogRequestError);
    expect(act).toThrow(/refusing to send Datadog keys/);
  });

  it('names the refused host in the message', () => {
    // Act
    const act = () => assertDatadogOrigin('https://api.datadoghq.com@evil.com/api/v1');

    // Assess
    expect(act).toThrow('refusing to send Datadog keys to https://evil.com');
  });
});

describe('Function: DatadogClient', () => {
  it.each(DATADOG_SITES)('talks to https://api.%s without an override', (site) => {
    // Act
    const c = new DatadogClient({ site, apiKey: API_KEY, appKey: APP_KEY });

    // Assess
    expect(c.origin).toBe(`https://api.${site}`);
  });

  it('uses only the origin of an override', () => {
    // Act
    const c = new DatadogClient({
      site: 'datadoghq.com',
      apiKey: API_KEY,
      appKey: APP_KEY,
      baseUrlOverride: 'http://127.0.0.1:8126/ignored/path',
    });

    // Assess
    expect(c.origin).toBe('http://127.0.0.1:8126');
  });

  it('does not show the keys when serialized', () => {
    // Act
    const c = new DatadogClient({ site: 'datadoghq.eu', apiKey: API_KEY, appKey: APP_KEY });

    // Assess
    expect(JSON.stringify(c)).not.toContain(API_KEY);
    expect(JSON.stringify(c)).not.toContain(APP_KEY);
  });
});
