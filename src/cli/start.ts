import { loadConfig, type TroupeConfig } from "../config.ts";
import { ConfigError } from "../errors.ts";
import { createLogger } from "../log.ts";
import { createRuntime } from "../runtime.ts";

/** Exit codes of `troupe start`. */
export const EXIT = Object.freeze({ ok: 0, fatal: 1, usage: 2, forced: 130 });

/**
 * Past DRAIN_TIMEOUT, how long the rest of the shutdown (hand-backs, job actors, NATS drain) may
 * take before the process exits anyway: a stuck step must not keep a stopping process alive.
 */
const SHUTDOWN_GRACE_MS = 30_000;

/**
 * `troupe start`: validates the configuration, runs the process until SIGINT/SIGTERM, then shuts
 * down in order. A second signal forces the exit at once, killing child processes first.
 */
export async function startCommand(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let config: TroupeConfig;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const line of error.message.split("\n")) process.stderr.write(`troupe: ${line}\n`);
    return EXIT.usage;
  }
  const log = createLogger({ level: config.logLevel, pretty: config.logPretty });
  const runtime = createRuntime({ config, log });

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals === 1) {
      log.info({ signal }, "shutting down (send the signal again to force)");
      const boundMs = config.drainTimeoutMs + SHUTDOWN_GRACE_MS;
      setTimeout(() => {
        log.error({ boundMs }, "shutdown took too long: forcing exit");
        runtime.killChildrenNow();
        process.exit(EXIT.fatal);
      }, boundMs).unref();
      void runtime.close();
      return;
    }
    log.warn({ signal }, "second signal: forcing exit");
    runtime.killChildrenNow();
    process.exit(EXIT.forced);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  try {
    await runtime.start();
    log.info(
      {
        natsUrl: runtime.natsUrl,
        http: runtime.httpAddress.url,
        workerId: runtime.workerId,
        prefix: config.prefix,
      },
      "troupe started",
    );
  } catch (error) {
    await runtime.close();
    if (signals > 0) {
      log.info("stopped before start-up completed");
      return EXIT.ok;
    }
    log.fatal({ err: error }, "start-up failed");
    return EXIT.fatal;
  }
  const error = await runtime.closed();
  if (error) {
    log.fatal({ err: error }, "stopped on a fatal error");
    return EXIT.fatal;
  }
  log.info("stopped");
  return EXIT.ok;
}
