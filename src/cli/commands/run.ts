import { EXIT, reportError } from "../exit.ts";
import { createOutput, type Output } from "../output.ts";

/** A command's body: does its work, resolves with the exit code, or throws (a coded error). */
export type Body = (out: Output, interrupt: AbortSignal) => Promise<number>;

/**
 * Runs a command's body for commander's `.action()`, and keeps its exit code. A body that watches
 * (`watches: true`) gets Ctrl-C as `interrupt` — the first stops watching, a second exits at once;
 * any other body is stopped by Ctrl-C as usual.
 */
export type Run = (body: Body, options?: { watches?: boolean }) => Promise<void>;

/** A `Run` and the exit code of the command it ran (undefined until one ran). */
export function createRun(): { run: Run; exitCode: () => number | undefined } {
  let code: number | undefined;
  const run: Run = async (body, options = {}) => {
    const out = createOutput();
    const interrupt = new AbortController();
    const onSignal = () => {
      if (interrupt.signal.aborted) process.exit(EXIT.interrupted);
      interrupt.abort();
    };
    if (options.watches) process.on("SIGINT", onSignal);
    try {
      code = await body(out, interrupt.signal);
    } catch (error) {
      code = reportError(error, out.err);
    } finally {
      process.off("SIGINT", onSignal);
    }
  };
  return { run, exitCode: () => code };
}
