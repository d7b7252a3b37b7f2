/** Structured fields of one log line: ids, codes, counts. Never payloads, configs or credentials. */
export type LogFields = Record<string, unknown>;

/** One logging method: structured fields first, then the line, as pino and bunyan take them. */
export type LogMethod = (fields: LogFields, message: string) => void;

/**
 * Where the services write their job start / end / failure / retry lines. Any object with these
 * four methods fits: a pino logger as is, or `console` (which prints the fields, then the line).
 * Lines never carry a secret: the services log ids, codes, attempt numbers and error messages
 * scrubbed of credentials. Must not throw.
 */
export interface Logger {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

/** A logger that drops everything (the default). */
export const nullLogger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
