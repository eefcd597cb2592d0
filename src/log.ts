import { type Logger, pino } from "pino";
import type { LogLevel } from "./config.ts";

export type { Logger };

export interface LoggerOptions {
  level: LogLevel;
  /** Human-readable lines (pino-pretty) instead of JSON. */
  pretty: boolean;
}

/**
 * The process logger: JSON lines on stdout (one object per line, for log shippers and for the
 * test harness), or pino-pretty's colored lines on a terminal.
 */
export function createLogger(options: LoggerOptions): Logger {
  if (!options.pretty) return pino({ level: options.level, base: { pid: process.pid } });
  return pino({
    level: options.level,
    base: { pid: process.pid },
    transport: { target: "pino-pretty", options: { translateTime: "SYS:HH:MM:ss.l" } },
  });
}
