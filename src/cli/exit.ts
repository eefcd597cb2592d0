import { TroupeError } from "../errors.ts";

/**
 * The `troupe` command's exit codes (README): how a watched job ended, or why nothing happened.
 * `start` keeps its own (src/cli/start.ts).
 */
export const EXIT = Object.freeze({
  /** Done; a watched job COMPLETED. */
  ok: 0,
  /** A watched job FAILED, TIMED OUT or was CANCELLED; or the request was refused (no such job…). */
  failed: 1,
  /** Usage: a bad flag, argument, file or variable. */
  usage: 2,
  /** NATS cannot be reached, refused the credentials, or no `troupe` process answers. */
  unreachable: 3,
  /** Ctrl-C: stopped watching (the job goes on). */
  interrupted: 130,
});

/** Errors whose code means "the input was at fault" (exit 2). */
const USAGE_CODES = new Set(["TROUPE_ERR_INVALID_REQUEST", "TROUPE_ERR_CONFIG"]);

/** Bad input found by the CLI itself (a file that cannot be read or parsed): exit 2. */
export function badInput(message: string): TroupeError {
  return new TroupeError("TROUPE_ERR_INVALID_REQUEST", message, { statusCode: 400 });
}

/** The exit code for an error a command threw. */
export function exitCodeOf(error: unknown): number {
  if (!(error instanceof TroupeError)) return EXIT.failed;
  if (error.code === "TROUPE_ERR_NATS_UNREACHABLE") return EXIT.unreachable;
  return USAGE_CODES.has(error.code) ? EXIT.usage : EXIT.failed;
}

/** The exit code of a watched job's end state. */
export function exitCodeOfJob(status: string): number {
  return status === "COMPLETED" ? EXIT.ok : EXIT.failed;
}

/**
 * Writes the error as one line on stderr (a multi-line message, such as several bad variables,
 * one `troupe:` line each) and returns its exit code. No stack: a person reads this.
 */
export function reportError(error: unknown, err: NodeJS.WritableStream = process.stderr): number {
  const message = error instanceof Error ? error.message : String(error);
  for (const line of message.split("\n")) err.write(`troupe: ${line}\n`);
  return exitCodeOf(error);
}
