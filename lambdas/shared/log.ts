import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';

/**
 * JSON log lines through Powertools for AWS Lambda's Logger: in Lambda every line carries the
 * request id, cold start, function name and X-Ray trace id (see lambdas/shared/runtime.ts), besides
 * level, message, timestamp, service and the context of the run.
 */
export type LogFields = Record<string, unknown>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** The same logger (and Lambda context), adding `fields` to every line. */
  child(fields: LogFields): Logger;
}

export type LogSink = (line: string) => void;

/** Default service name of lines written outside a deployed function (tests, local runs). */
const LOCAL_SERVICE = 'datadog-usage-lake';

/** Our Logger over one Powertools Logger: children add keys per line, the Lambda context stays shared. */
export function fromPowertools(logger: PowertoolsLogger, fields: LogFields = {}): Logger {
  const extra = (f?: LogFields) => ({ ...fields, ...f });
  return {
    info: (m, f) => logger.info(m, extra(f)),
    warn: (m, f) => logger.warn(m, extra(f)),
    error: (m, f) => logger.error(m, extra(f)),
    child: (more) => fromPowertools(logger, extra(more)),
  };
}

/**
 * A Powertools Logger. Without `sink` it writes to stdout as in Lambda; with one, each line goes to
 * `sink` instead (Powertools prints through a Console of its own, replaced here).
 */
export function createPowertoolsLogger(
  options: { serviceName?: string; persistentKeys?: LogFields; sink?: LogSink } = {},
): PowertoolsLogger {
  const logger = new PowertoolsLogger({
    serviceName: options.serviceName ?? process.env.POWERTOOLS_SERVICE_NAME ?? LOCAL_SERVICE,
    persistentKeys: options.persistentKeys ?? {},
  });
  const sink = options.sink;
  if (sink) {
    const write = (line: unknown) => sink(String(line));
    Object.assign(logger, {
      console: { log: write, info: write, warn: write, error: write, debug: write, trace: write },
    });
  }
  return logger;
}

/** A logger writing JSON lines to `sink` (tests capture them; the local runner passes its own). */
export function createLogger(base: LogFields = {}, sink?: LogSink): Logger {
  return fromPowertools(createPowertoolsLogger({ persistentKeys: base, sink }));
}

/** A logger that drops everything: for tests and for the local runner's quiet mode. */
export const silentLogger: Logger = createLogger({}, () => {});
