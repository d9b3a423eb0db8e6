/**
 * The server's logger (issue 11): pino, one JSON object per line on stdout. Levels are
 * pino's; `--log-level` / `DGW_LOG_LEVEL` picks one. Errors are serialised with their
 * stack and the chain of causes (pino's err serializer), on the server side only: what
 * a client sees is the error envelope, never a stack or SQL.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

/** Levels accepted by `--log-level`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Checks a `--log-level` value, naming the flag and the accepted values. */
export function parseLogLevel(value: string, flag = '--log-level'): LogLevel {
  if ((LOG_LEVELS as readonly string[]).includes(value)) return value as LogLevel;
  throw new Error(`${flag}: "${value}" is not one of ${LOG_LEVELS.join(', ')}`);
}

/** A logger writing JSON lines to `destination` (default stdout). */
export function createLogger(level: LogLevel = 'info', destination?: DestinationStream): Logger {
  const options = { level, base: { service: 'dgw' }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
