import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod/mini';
import { SecretError } from './errors.ts';
import { keyFormatProblem } from './key-format.ts';
import { orDefault, parseWith, problemCheck, show } from './schema.ts';
import { DATADOG_SITES, type DatadogSite, DEFAULT_SITE } from './sites.ts';

export type KeyLoader = (secretName: string, defaultSite: DatadogSite) => Promise<DatadogKeys>;

/** The command that creates the secret, as the errors below suggest it. */
export const createSecretHint = (name: string) =>
  `Create it with: aws secretsmanager create-secret --name ${name} --secret-string '{"apiKey":"<DD_API_KEY>","appKey":"<DD_APP_KEY>","site":"datadoghq.com"}'`;

/** A key that can travel in a header (see key-format.ts); `problem` names the field, never the key. */
const sendable = (problem: (format: string) => string) =>
  z.string().check(
    problemCheck((key: string) => {
      const format = keyFormatProblem(key);
      return format === undefined ? undefined : problem(format);
    }),
  );

/**
 * The secret's JSON, `{apiKey, appKey, site}` (other fields ignored): both keys present, then both
 * sendable, then the site (default: the account's). Messages name the secret and the field, never a
 * value.
 */
function secretSchema(secretName: string, defaultSite: DatadogSite) {
  const hint = createSecretHint(secretName);
  const present = (field: string) => {
    const message = `secret ${secretName} has no ${field} string. ${hint}`;
    return z.string({ error: message }).check(z.trim(), z.minLength(1, { error: message }));
  };
  return z.pipe(
    z.looseObject(
      { apiKey: present('apiKey'), appKey: present('appKey') },
      { error: `secret ${secretName} is not a JSON object of {apiKey, appKey, site}. ${hint}` },
    ),
    z.object({
      apiKey: sendable((format) => `secret ${secretName}: apiKey ${format}`),
      appKey: sendable((format) => `secret ${secretName}: appKey ${format}`),
      site: orDefault(
        z.enum(DATADOG_SITES, { error: `secret ${secretName} names an unknown Datadog site` }),
        defaultSite,
      ),
    }),
  );
}

/** Datadog keys and their site, from a secret or the environment. */
export type DatadogKeys = z.output<ReturnType<typeof secretSchema>>;

/** Parses `{apiKey, appKey, site}`. Error messages name the secret and the field, never a value. */
export function parseSecret(
  secretName: string,
  raw: string | undefined,
  defaultSite: DatadogSite,
): DatadogKeys {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw ?? '');
  } catch {
    // Not JSON: the object schema refuses it with its message.
    parsed = undefined;
  }
  return parseWith(
    secretSchema(secretName, defaultSite),
    parsed,
    '',
    (_, message) => new SecretError(message),
  );
}

/** Reads secrets from Secrets Manager, cached per container for `ttlMs` (default 5 minutes). */
export function secretsManagerLoader(
  client: SecretsManagerClient,
  ttlMs = 300_000,
  now: () => number = Date.now,
): KeyLoader {
  const cache = new Map<string, { keys: DatadogKeys; expires: number }>();
  return async (secretName, defaultSite) => {
    const cacheKey = `${secretName}\u0000${defaultSite}`;
    const hit = cache.get(cacheKey);
    if (hit && hit.expires > now()) return hit.keys;
    let raw: string | undefined;
    try {
      raw = (await client.send(new GetSecretValueCommand({ SecretId: secretName }))).SecretString;
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'ResourceNotFoundException') {
        throw new SecretError(`secret ${secretName} does not exist. ${createSecretHint(secretName)}`);
      }
      throw new SecretError(`secret ${secretName} could not be read (${name})`, { cause: error });
    }
    const keys = parseSecret(secretName, raw, defaultSite);
    cache.set(cacheKey, { keys, expires: now() + ttlMs });
    return keys;
  };
}

/**
 * Local runs' keys: `DD_API_KEY` and `DD_APP_KEY` as they are (not trimmed) and `DD_SITE` (default
 * `datadoghq.com`). Other variables are ignored.
 */
const KeysEnvSchema = z.pipe(
  z.object({
    DD_SITE: z._default(
      z.enum(DATADOG_SITES, { error: (iss) => `${show(iss.input)} is not a Datadog site` }),
      DEFAULT_SITE,
    ),
    DD_API_KEY: sendable((format) => format),
    DD_APP_KEY: sendable((format) => format),
  }),
  z.transform((env): DatadogKeys => ({ apiKey: env.DD_API_KEY, appKey: env.DD_APP_KEY, site: env.DD_SITE })),
);

/** Local runs: `DD_API_KEY`, `DD_APP_KEY` and optional `DD_SITE`, or undefined when a key is not set. */
export function keysFromEnv(env: NodeJS.ProcessEnv = process.env): DatadogKeys | undefined {
  if (!env.DD_API_KEY || !env.DD_APP_KEY) return undefined;
  return parseWith(KeysEnvSchema, env, '', (field, message) => new SecretError(`${field} ${message}`));
}
