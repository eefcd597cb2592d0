import { type DestinationStream, type Logger, pino } from "pino";
import { type LogFileConfig, type LogLevel, logFileOf } from "./config.ts";
import { VARIABLES } from "./config-variables.ts";
import { RotatingFile } from "./log-file.ts";

export type { Logger };

export interface LoggerOptions {
  level: LogLevel;
  /** Human-readable lines (pino-pretty) instead of JSON. */
  pretty: boolean;
  /**
   * A rotating file beside stdout. @default what LOG_FILE, LOG_MAX_BYTES and LOG_BACKUP_COUNT say
   * (validated by `loadConfig` before `troupe start` calls this)
   */
  file?: LogFileConfig | undefined;
}

/**
 * The process logger: JSON lines on stdout (one object per line, for log shippers and for the
 * test harness), or pino-pretty's colored lines on a terminal; with LOG_FILE, the same JSON lines
 * also go to a file rotated by size (`RotatingFile`), every line still on stdout.
 */
export function createLogger(options: LoggerOptions): Logger {
  const base = { level: options.level, base: { pid: process.pid } };
  const file = "file" in options ? options.file : logFileFromEnv();
  if (!options.pretty && !file) return pino(base);
  const stdout: DestinationStream = options.pretty
    ? pino.transport({ target: "pino-pretty", options: { translateTime: "SYS:HH:MM:ss.l" } })
    : pino.destination({ dest: 1, sync: true });
  if (!file || options.level === "silent") return pino(base, stdout);
  const level = options.level;
  return pino(
    base,
    pino.multistream([
      { stream: stdout, level },
      { stream: new RotatingFile(file), level },
    ]),
  );
}

/** LOG_FILE and its limits from the environment (a bad value falls back to the default). */
function logFileFromEnv(env: NodeJS.ProcessEnv = process.env): LogFileConfig | undefined {
  const read = <K extends "LOG_FILE" | "LOG_MAX_BYTES" | "LOG_BACKUP_COUNT">(name: K) => {
    const { fallback, parse } = VARIABLES[name];
    return (parse(env[name] ?? fallback) ?? parse(fallback)) as NonNullable<
      ReturnType<(typeof VARIABLES)[K]["parse"]>
    >;
  };
  return logFileOf({
    LOG_FILE: read("LOG_FILE"),
    LOG_MAX_BYTES: read("LOG_MAX_BYTES"),
    LOG_BACKUP_COUNT: read("LOG_BACKUP_COUNT"),
  });
}
