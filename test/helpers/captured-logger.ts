import pino from 'pino';
import type { Logger } from '../../src-main/logger.ts';

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/**
 * A real pino logger whose destination is an array: pino writes each line synchronously
 * to `write`, so a test reads exactly what the log file would hold, with no flush race.
 */
export function capturedLogger(level = 'debug'): {
  logger: Logger;
  lines: LogLine[];
  find: (msg: string) => LogLine[];
} {
  const lines: LogLine[] = [];
  const logger = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines, find: (msg) => lines.filter((line) => line.msg === msg) };
}

/** pino's numeric levels, for assertions that read like the log. */
export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;
