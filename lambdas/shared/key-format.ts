/**
 * What a Datadog key may hold: it travels in the DD-API-KEY / DD-APPLICATION-KEY headers, and Datadog
 * keys are hexadecimal (32 characters for API keys, 40 for application keys). A CR, LF or non-ASCII
 * character cannot be sent at all; refusing it up front keeps it from looking like an outage.
 */
const KEY_PATTERN = /^[\x21-\x7e]+$/;
export const MAX_KEY_LENGTH = 256;
export const KEY_FORM = `1 to ${MAX_KEY_LENGTH} printable ASCII characters without spaces (Datadog keys are hexadecimal)`;

/** Why `key` cannot be sent as a Datadog key, without quoting it; undefined when it can. */
export function keyFormatProblem(key: string): string | undefined {
  if (key === '') return `is empty; expected ${KEY_FORM}`;
  if (key.length > MAX_KEY_LENGTH) return `is ${key.length} characters long; expected ${KEY_FORM}`;
  if (!KEY_PATTERN.test(key)) {
    const at = [...key].findIndex((c) => !KEY_PATTERN.test(c));
    return `has a character an HTTP header cannot carry at position ${at + 1}; expected ${KEY_FORM}`;
  }
  return undefined;
}
