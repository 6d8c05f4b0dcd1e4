/** JSON lines: one object per line with a level, a message and the context of the run. */
export type LogFields = Record<string, unknown>;

export interface Logger {
  /** Writes a raw line (an embedded-metric record) to the same sink. */
  raw(line: string): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export type LogSink = (line: string) => void;

/**
 * Lines go straight to stdout: Lambda's JSON log format wraps `console.*` output, which would hide
 * embedded-metric lines inside a `message` field.
 */
export const stdoutSink: LogSink = (line) => {
  process.stdout.write(`${line}\n`);
};

export function createLogger(base: LogFields = {}, sink: LogSink = stdoutSink): Logger {
  const write = (level: string, message: string, fields?: LogFields) =>
    sink(JSON.stringify({ level, message, timestamp: new Date().toISOString(), ...base, ...fields }));
  return {
    raw: (line) => sink(line),
    info: (m, f) => write('INFO', m, f),
    warn: (m, f) => write('WARN', m, f),
    error: (m, f) => write('ERROR', m, f),
    child: (fields) => createLogger({ ...base, ...fields }, sink),
  };
}

/** A logger that drops everything: for tests and for the local runner's quiet mode. */
export const silentLogger: Logger = createLogger({}, () => {});
