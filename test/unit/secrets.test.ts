import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { SecretError } from '../../lambdas/shared/errors.ts';
import { keysFromEnv, parseSecret, secretsManagerLoader } from '../../lambdas/shared/secrets.ts';

const API_KEY = 'APIKEY-SECRET-123';
const APP_KEY = 'APPKEY-SECRET-456';
const SECRET = 'datadog/usage-lake/main';
const HINT = `aws secretsmanager create-secret --name ${SECRET}`;
const KEY_FORM = 'expected 1 to 256 printable ASCII characters without spaces (Datadog keys are hexadecimal)';
/** Keys no HTTP header can carry: the field, the key, the position of the first bad character. */
const UNSENDABLE: Array<[string, 'apiKey' | 'appKey', string, number]> = [
  ['a CR/LF inside the API key', 'apiKey', `${API_KEY}\r\nX-Injected: 1`, 18],
  ['a LF inside the application key', 'appKey', `APPKEY\nSECRET-456`, 7],
  ['a character beyond Latin-1 in the API key', 'apiKey', `${API_KEY}\u20ac`, 18],
  ['a Latin-1 letter in the application key', 'appKey', `caf\u00e9-${APP_KEY}`, 4],
  ['a NUL in the API key', 'apiKey', `${API_KEY}\u0000x`, 18],
  ['a space inside the application key', 'appKey', 'APPKEY SECRET-456', 7],
];

/** Runs `act`, expects a SecretError, and returns it for further checks. */
function secretError(act: () => unknown): SecretError {
  try {
    act();
  } catch (error) {
    expect(error).toBeInstanceOf(SecretError);
    return error as SecretError;
  }
  throw new Error('expected a SecretError, but nothing was thrown');
}

async function secretRejection(promise: Promise<unknown>): Promise<SecretError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SecretError);
    return error as SecretError;
  }
  throw new Error('expected a SecretError, but the promise resolved');
}

/** A Secrets Manager client double that records the secret ids it was asked for. */
function fakeClient(reply: () => Promise<{ SecretString?: string }>) {
  const asked: string[] = [];
  const client = {
    send: async (command: GetSecretValueCommand) => {
      expect(command).toBeInstanceOf(GetSecretValueCommand);
      asked.push(command.input.SecretId ?? '');
      return reply();
    },
  };
  return { client: client as never, asked };
}

describe('Function: parseSecret', () => {
  it('parses a good secret', () => {
    // Prepare
    const raw = JSON.stringify({ apiKey: API_KEY, appKey: APP_KEY, site: 'datadoghq.eu' });

    // Act
    const keys = parseSecret(SECRET, raw, 'datadoghq.com');

    // Assess
    expect(keys).toEqual({ apiKey: API_KEY, appKey: APP_KEY, site: 'datadoghq.eu' });
  });

  it('trims blanks around the keys', () => {
    // Prepare
    const raw = JSON.stringify({ apiKey: ` ${API_KEY}\n`, appKey: `\t${APP_KEY} ` });

    // Act
    const keys = parseSecret(SECRET, raw, 'datadoghq.com');

    // Assess
    expect(keys.apiKey).toBe(API_KEY);
    expect(keys.appKey).toBe(APP_KEY);
  });

  it('uses the default site when the secret names none', () => {
    // Act
    const keys = parseSecret(
      SECRET,
      JSON.stringify({ apiKey: API_KEY, appKey: APP_KEY }),
      'us5.datadoghq.com',
    );

    // Assess
    expect(keys).toEqual({ apiKey: API_KEY, appKey: APP_KEY, site: 'us5.datadoghq.com' });
  });

  it.each([
    ['missing', { apiKey: API_KEY }],
    ['empty', { apiKey: API_KEY, appKey: '' }],
    ['blank', { apiKey: API_KEY, appKey: '   ' }],
    ['not a string', { apiKey: API_KEY, appKey: 12345 }],
  ])('refuses an appKey that is %s, naming the secret and the field but no value', (_label, secret) => {
    // Act
    const error = secretError(() => parseSecret(SECRET, JSON.stringify(secret), 'datadoghq.com'));

    // Assess
    expect(error.name).toBe('SecretError');
    expect(error.message).toContain(`secret ${SECRET} has no appKey string`);
    expect(error.message).toContain(HINT);
    expect(error.message).not.toContain(API_KEY);
  });

  it('refuses a missing apiKey, naming the field but not the app key', () => {
    // Act
    const error = secretError(() =>
      parseSecret(SECRET, JSON.stringify({ appKey: APP_KEY }), 'datadoghq.com'),
    );

    // Assess
    expect(error.message).toContain(`secret ${SECRET} has no apiKey string`);
    expect(error.message).toContain(HINT);
    expect(error.message).not.toContain(APP_KEY);
  });

  it.each([
    ['text that is not JSON', `apiKey=${API_KEY} appKey=${APP_KEY}`],
    ['truncated JSON', `{"apiKey":"${API_KEY}","appKey":"${APP_KEY}"`],
    ['an empty string', ''],
    ['no string at all', undefined],
  ])('refuses %s with the create-secret hint and without its contents', (_label, raw) => {
    // Act
    const error = secretError(() => parseSecret(SECRET, raw, 'datadoghq.com'));

    // Assess
    expect(error.message).toContain(`secret ${SECRET} is not a JSON object of {apiKey, appKey, site}`);
    expect(error.message).toContain(HINT);
    expect(error.message).not.toContain(API_KEY);
    expect(error.message).not.toContain(APP_KEY);
  });

  it.each([
    ['a JSON array', '[]'],
    ['a JSON string', `"${API_KEY}"`],
    ['JSON null', 'null'],
  ])('refuses %s as a secret that is not an object', (_label, raw) => {
    // Act
    const error = secretError(() => parseSecret(SECRET, raw, 'datadoghq.com'));

    // Assess
    expect(error.message).toContain(`secret ${SECRET} is not a JSON object of {apiKey, appKey, site}`);
    expect(error.message).not.toContain(API_KEY);
  });

  it.each(['datadoghq.org', 'api.datadoghq.com', ''])(
    'refuses the unknown site "%s" without the keys',
    (site) => {
      // Act
      const error = secretError(() =>
        parseSecret(SECRET, JSON.stringify({ apiKey: API_KEY, appKey: APP_KEY, site }), 'datadoghq.com'),
      );

      // Assess
      expect(error.message).toContain(`secret ${SECRET} names an unknown Datadog site`);
      expect(error.message).not.toContain(API_KEY);
      expect(error.message).not.toContain(APP_KEY);
    },
  );
});

describe('Function: parseSecret, keys no HTTP header can carry', () => {
  it.each(UNSENDABLE)('refuses %s, naming the field, without the key', (_label, field, key, at) => {
    // Prepare
    const secret = { apiKey: API_KEY, appKey: APP_KEY, [field]: key };

    // Act
    const error = secretError(() => parseSecret(SECRET, JSON.stringify(secret), 'datadoghq.com'));

    // Assess
    expect(error.message).toBe(
      `secret ${SECRET}: ${field} has a character an HTTP header cannot carry at position ${at}; ${KEY_FORM}`,
    );
    expect(error.message).not.toContain(API_KEY);
    expect(error.message).not.toContain(APP_KEY);
  });

  it('refuses a key longer than 256 characters', () => {
    // Act
    const error = secretError(() =>
      parseSecret(SECRET, JSON.stringify({ apiKey: 'a'.repeat(257), appKey: APP_KEY }), 'datadoghq.com'),
    );

    // Assess
    expect(error.message).toBe(`secret ${SECRET}: apiKey is 257 characters long; ${KEY_FORM}`);
  });
});

describe('Function: secretsManagerLoader', () => {
  const good = JSON.stringify({ apiKey: API_KEY, appKey: APP_KEY });

  it('reads the secret once and serves it from the cache within the ttl', async () => {
    // Prepare
    let t = 1_000_000;
    const { client, asked } = fakeClient(async () => ({ SecretString: good }));
    const load = secretsManagerLoader(client, 60_000, () => t);

    // Act
    const first = await load(SECRET, 'datadoghq.com');
    t += 59_999;
    const second = await load(SECRET, 'datadoghq.com');

    // Assess
    expect(asked).toEqual([SECRET]);
    expect(first).toEqual({ apiKey: API_KEY, appKey: APP_KEY, site: 'datadoghq.com' });
    expect(second).toEqual(first);
  });

  it('reads the secret again once the ttl has passed', async () => {
    // Prepare
    let t = 1_000_000;
    const values = [good, JSON.stringify({ apiKey: 'ROTATED-API', appKey: 'ROTATED-APP' })];
    let call = 0;
    const { client, asked } = fakeClient(async () => ({ SecretString: values[call++] }));
    const load = secretsManagerLoader(client, 60_000, () => t);

    // Act
    const first = await load(SECRET, 'datadoghq.com');
    t += 60_000;
    const second = await load(SECRET, 'datadoghq.com');

    // Assess
    expect(asked).toEqual([SECRET, SECRET]);
    expect(first.apiKey).toBe(API_KEY);
    expect(second).toEqual({ apiKey: 'ROTATED-API', appKey: 'ROTATED-APP', site: 'datadoghq.com' });
  });

  it('caches each secret on its own', async () => {
    // Prepare
    const { client, asked } = fakeClient(async () => ({ SecretString: good }));
    const load = secretsManagerLoader(client, 60_000, () => 0);

    // Act
    await load('a', 'datadoghq.com');
    await load('b', 'datadoghq.com');
    await load('a', 'datadoghq.com');

    // Assess
    expect(asked).toEqual(['a', 'b']);
  });

  it('turns ResourceNotFoundException into a SecretError with the create-secret hint', async () => {
    // Prepare
    const { client } = fakeClient(async () => {
      throw Object.assign(new Error("Secrets Manager can't find the specified secret."), {
        name: 'ResourceNotFoundException',
      });
    });
    const load = secretsManagerLoader(client);

    // Act
    const error = await secretRejection(load(SECRET, 'datadoghq.com'));

    // Assess
    expect(error.name).toBe('SecretError');
    expect(error.message).toContain(`secret ${SECRET} does not exist`);
    expect(error.message).toContain(HINT);
  });

  it('turns another read failure into a SecretError that keeps the cause', async () => {
    // Prepare
    const denied = Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' });
    const { client } = fakeClient(async () => {
      throw denied;
    });
    const load = secretsManagerLoader(client);

    // Act
    const error = await secretRejection(load(SECRET, 'datadoghq.com'));

    // Assess
    expect(error.message).toBe(`secret ${SECRET} could not be read (AccessDeniedException)`);
    expect(error.cause).toBe(denied);
  });

  it('does not cache a failure', async () => {
    // Prepare
    let call = 0;
    const { client, asked } = fakeClient(async () => {
      if (call++ === 0) throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
      return { SecretString: good };
    });
    const load = secretsManagerLoader(client, 60_000, () => 0);

    // Act
    await secretRejection(load(SECRET, 'datadoghq.com'));
    const keys = await load(SECRET, 'datadoghq.com');

    // Assess
    expect(asked).toEqual([SECRET, SECRET]);
    expect(keys.apiKey).toBe(API_KEY);
  });

  it.each(UNSENDABLE)('refuses a secret with %s at once, without the key', async (_label, field, key) => {
    // Prepare
    const { client, asked } = fakeClient(async () => ({
      SecretString: JSON.stringify({ apiKey: API_KEY, appKey: APP_KEY, [field]: key }),
    }));
    const load = secretsManagerLoader(client);

    // Act
    const error = await secretRejection(load(SECRET, 'datadoghq.com'));

    // Assess
    expect(error.name).toBe('SecretError');
    expect(error.message).toContain(`secret ${SECRET}: ${field} has a character an HTTP header cannot carry`);
    expect(error.message).not.toContain(key);
    expect(asked).toEqual([SECRET]);
  });

  it('refuses a malformed secret with a SecretError', async () => {
    // Prepare
    const { client } = fakeClient(async () => ({ SecretString: JSON.stringify({ apiKey: API_KEY }) }));
    const load = secretsManagerLoader(client);

    // Act
    const error = await secretRejection(load(SECRET, 'datadoghq.com'));

    // Assess
    expect(error.message).toContain('has no appKey string');
    expect(error.message).not.toContain(API_KEY);
  });
});

describe('Function: keysFromEnv', () => {
  it('reads DD_API_KEY and DD_APP_KEY with the default site', () => {
    // Act
    const keys = keysFromEnv({ DD_API_KEY: API_KEY, DD_APP_KEY: APP_KEY });

    // Assess
    expect(keys).toEqual({ apiKey: API_KEY, appKey: APP_KEY, site: 'datadoghq.com' });
  });

  it('reads DD_SITE', () => {
    // Act
    const keys = keysFromEnv({ DD_API_KEY: API_KEY, DD_APP_KEY: APP_KEY, DD_SITE: 'ap1.datadoghq.com' });

    // Assess
    expect(keys?.site).toBe('ap1.datadoghq.com');
  });

  it.each([
    ['no keys', {}],
    ['no app key', { DD_API_KEY: API_KEY }],
    ['no api key', { DD_APP_KEY: APP_KEY }],
    ['an empty api key', { DD_API_KEY: '', DD_APP_KEY: APP_KEY }],
  ])('returns undefined with %s', (_label, env) => {
    // Act
    const keys = keysFromEnv(env);

    // Assess
    expect(keys).toBeUndefined();
  });

  it.each(UNSENDABLE)(
    'refuses %s with a SecretError naming the variable, without the key',
    (_label, field, key, at) => {
      // Prepare
      const variable = field === 'apiKey' ? 'DD_API_KEY' : 'DD_APP_KEY';

      // Act
      const error = secretError(() =>
        keysFromEnv({ DD_API_KEY: API_KEY, DD_APP_KEY: APP_KEY, [variable]: key }),
      );

      // Assess
      expect(error.message).toBe(
        `${variable} has a character an HTTP header cannot carry at position ${at}; ${KEY_FORM}`,
      );
      expect(error.message).not.toContain(API_KEY);
      expect(error.message).not.toContain(APP_KEY);
    },
  );

  it('refuses an unknown DD_SITE without the keys', () => {
    // Act
    const error = secretError(() =>
      keysFromEnv({ DD_API_KEY: API_KEY, DD_APP_KEY: APP_KEY, DD_SITE: 'evil.com' }),
    );

    // Assess
    expect(error.message).toBe('DD_SITE "evil.com" is not a Datadog site');
    expect(error.message).not.toContain(API_KEY);
  });
});
