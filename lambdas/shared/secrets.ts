import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretError } from './errors.ts';
import { keyFormatProblem } from './key-format.ts';
import { type DatadogSite, isDatadogSite } from './sites.ts';

export interface DatadogKeys {
  apiKey: string;
  appKey: string;
  site: DatadogSite;
}

export type KeyLoader = (secretName: string, defaultSite: DatadogSite) => Promise<DatadogKeys>;

/** The command that creates the secret, as the errors below suggest it. */
export const createSecretHint = (name: string) =>
  `Create it with: aws secretsmanager create-secret --name ${name} --secret-string '{"apiKey":"<DD_API_KEY>","appKey":"<DD_APP_KEY>","site":"datadoghq.com"}'`;

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
    throw new SecretError(
      `secret ${secretName} is not a JSON object of {apiKey, appKey, site}. ${createSecretHint(secretName)}`,
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SecretError(
      `secret ${secretName} is not a JSON object of {apiKey, appKey, site}. ${createSecretHint(secretName)}`,
    );
  }
  const s = parsed as Record<string, unknown>;
  for (const field of ['apiKey', 'appKey']) {
    if (typeof s[field] !== 'string' || (s[field] as string).trim() === '') {
      throw new SecretError(`secret ${secretName} has no ${field} string. ${createSecretHint(secretName)}`);
    }
  }
  const apiKey = (s.apiKey as string).trim();
  const appKey = (s.appKey as string).trim();
  for (const [field, key] of [
    ['apiKey', apiKey],
    ['appKey', appKey],
  ] as const) {
    const problem = keyFormatProblem(key);
    if (problem) throw new SecretError(`secret ${secretName}: ${field} ${problem}`);
  }
  const site = s.site ?? defaultSite;
  if (!isDatadogSite(site)) throw new SecretError(`secret ${secretName} names an unknown Datadog site`);
  return { apiKey, appKey, site };
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

/** Local runs: `DD_API_KEY`, `DD_APP_KEY` and optional `DD_SITE`, or undefined when not set. */
export function keysFromEnv(env: NodeJS.ProcessEnv = process.env): DatadogKeys | undefined {
  if (!env.DD_API_KEY || !env.DD_APP_KEY) return undefined;
  const site = env.DD_SITE ?? 'datadoghq.com';
  if (!isDatadogSite(site)) throw new SecretError(`DD_SITE "${site}" is not a Datadog site`);
  for (const name of ['DD_API_KEY', 'DD_APP_KEY'] as const) {
    const problem = keyFormatProblem(env[name] as string);
    if (problem) throw new SecretError(`${name} ${problem}`);
  }
  return { apiKey: env.DD_API_KEY, appKey: env.DD_APP_KEY, site };
}
