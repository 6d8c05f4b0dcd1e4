/**
 * Named errors. The names are API: Step Functions Retry/Catch match on them, so never rename one.
 * Messages carry method, path and status, never headers or keys.
 */

export class InputError extends Error {
  override name = 'InputError';
  /** The input field at fault, e.g. `start` or `categories[2]`. */
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The secret with the Datadog keys is missing or malformed. */
export class SecretError extends Error {
  override name = 'SecretError';
}

interface HttpErrorDetails {
  method: string;
  path: string;
  status?: number;
  cause?: unknown;
}

abstract class DatadogHttpError extends Error {
  readonly method: string;
  readonly path: string;
  readonly status: number | undefined;
  constructor(message: string, details: HttpErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.method = details.method;
    this.path = details.path;
    this.status = details.status;
  }
}

/** 403: the API key is invalid, or the application key lacks `usage_read` (and `billing_read` for costs). */
export class DatadogAuthError extends DatadogHttpError {
  override name = 'DatadogAuthError';
}

/** 400/404: Datadog refused the request itself, e.g. child-org keys on a parent-only endpoint. */
export class DatadogRequestError extends DatadogHttpError {
  override name = 'DatadogRequestError';
}

/** 5xx, timeouts, resets and unreadable bodies that survived the client's own retries. */
export class DatadogUnavailableError extends DatadogHttpError {
  override name = 'DatadogUnavailableError';
}

/** 429 that survived the client's retries and the state machine's waits. */
export class RateLimitedError extends DatadogHttpError {
  override name = 'RateLimitedError';
  /** Seconds until the rate-limit window resets, from `X-RateLimit-Reset`. */
  readonly retryAfterSeconds: number;
  readonly rateLimit: Record<string, unknown>;
  constructor(
    message: string,
    details: HttpErrorDetails & { retryAfterSeconds: number; rateLimit?: Record<string, unknown> },
  ) {
    super(message, details);
    this.retryAfterSeconds = details.retryAfterSeconds;
    this.rateLimit = details.rateLimit ?? {};
  }
}

/** Datadog sent a cursor it had already sent for this window: paging further would loop forever. */
export class CursorLoopError extends Error {
  override name = 'CursorLoopError';
}

/** The window is larger than the page cap allows; something is wrong with the cursor or the data. */
export class PageLimitError extends Error {
  override name = 'PageLimitError';
}

/** S3 refused a write after the SDK's own retries. */
export class StorageError extends Error {
  override name = 'StorageError';
}

/**
 * Datadog's answer was larger than the client reads (see `MAX_RESPONSE_BYTES`): refused while
 * streaming, before it can exhaust the function's memory. Not transient, so nothing retries it.
 */
export class ResponseTooLargeError extends DatadogHttpError {
  override name = 'ResponseTooLargeError';
}
