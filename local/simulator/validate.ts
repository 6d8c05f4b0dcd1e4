/**
 * `GET /api/v1/validate`, Datadog's key validation: it reads the API key only (no application key, no
 * scope), answering 200 `{"valid":true}` or 403 `{"errors":["Forbidden"]}`.
 */
import { errorsJson } from './request.ts';

export const VALIDATE_PATH = '/api/v1/validate';

export function validateKey(apiKey: string | string[] | undefined, accepted: string) {
  const valid = apiKey === accepted;
  return valid
    ? { valid, status: 200, body: JSON.stringify({ valid: true }) }
    : { valid, status: 403, body: errorsJson(['Forbidden']) };
}
