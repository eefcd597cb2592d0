import { hostname } from "node:os";
import { systemClock } from "./clock.ts";
import type { TroupeConfig } from "./config.ts";
import {
  createHttpServer,
  createMetricsServer,
  type HttpAddress,
  type HttpServer,
} from "./http/server.ts";
import type { Gateway } from "./jobs/gateway.ts";
import type { Logger } from "./log.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import { serveApi } from "./nats-api/endpoints.ts";
import { packageVersion } from "./package-root.ts";
import { Pipeline } from "./pipeline.ts";
import { connectNats, type NatsConnection } from "./transport/connection.ts";
import { joinLocalNats, type LocalNats } from "./transport/local-nats.ts";
import { untilNatsAnswers } from "./transport/nats-errors.ts";
import type { Service } from "./transport/service.ts";

const VERSION = packageVersion();

export interface Runtime {
  /** Connects (starting an embedded nats-server when allowed and needed). Idempotent. */
  start(): Promise<void>;
  /** Ordered, bounded shutdown; every step runs even if an earlier one failed. Memoized. */
  close(): Promise<void>;
  /** Resolves once closed, with the error that closed it, if any. Never rejects. */
  closed(): Promise<Error | undefined>;
  /** For a forced exit (a second signal): kills child processes at once, synchronously. */
  killChildrenNow(): void;
  /** The NATS URL in use (the embedded server's when one was started). */
  readonly natsUrl: string;
  /** What every door calls (available once started). */
  readonly gateway: Gateway;
  /** This process's worker id (available once started). */
  readonly workerId: string;
  /** Where the HTTP facade listens (available once started). */
  readonly httpAddress: HttpAddress;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface RuntimeOptions {
  config: TroupeConfig;
  log: Logger;
}

/** One `troupe` process: its NATS connection and, as they land, its actors, pool and doors. */
export function createRuntime(options: RuntimeOptions): Runtime {
  return new TroupeRuntime(options);
}

class TroupeRuntime implements Runtime {
  #config: TroupeConfig;
  #log: Logger;
  #local: LocalNats | undefined;
  #nc: NatsConnection | undefined;
  #pipeline: Pipeline | undefined;
  #service: Service | undefined;
  #metrics: Metrics | undefined;
  #http: HttpServer | undefined;
  #httpAddress: HttpAddress | undefined;
  #metricsHttp: HttpServer | undefined;
  #starting: Promise<void> | undefined;
  #abortStart = new AbortController();
  #closing: Promise<void> | undefined;
  #closedWith: Error | undefined;
  #resolveClosed!: (error: Error | undefined) => void;
  #closed = new Promise<Error | undefined>((resolve) => {
    this.#resolveClosed = resolve;
  });

  constructor(options: RuntimeOptions) {
    this.#config = options.config;
    this.#log = options.log;
  }

  get natsUrl(): string {
    return this.#local?.url ?? this.#config.natsServers.join(",");
  }

  get gateway(): Gateway {
    if (!this.#pipeline) throw new Error("the runtime is not started");
    return this.#pipeline.gateway;
  }

  get httpAddress(): HttpAddress {
    if (!this.#httpAddress) throw new Error("the runtime is not started");
    return this.#httpAddress;
  }

  get workerId(): string {
    if (!this.#pipeline) throw new Error("the runtime is not started");
    return this.#pipeline.registry.workerId;
  }

  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const config = this.#config;
    const signal = this.#abortStart.signal;
    // Without an explicit NATS_URL, a laptop with no NATS running gets one of its own; other
    // processes with the same data dir join it, and keep it up when its starter exits.
    if (!config.natsUrlIsExplicit) {
      this.#local = await joinLocalNats({
        host: "127.0.0.1",
        port: config.embeddedPort,
        dataDir: config.dataDir,
        auth: config.natsAuth,
        log: this.#log,
        signal,
      });
    }
    const local = this.#local;
    this.#nc = await connectNats({
      servers: local ? [local.url] : config.natsServers,
      name: `troupe@${hostname()}:${process.pid}`,
      log: this.#log,
      auth: local ? local.auth : config.natsAuth,
      tls: config.natsTls,
      signal,
      embedded: local?.embedded ?? false,
      unreachableHint: local
        ? undefined
        : "NATS_URL is set, so no embedded nats-server is started (it is only when NATS_URL is unset)",
    });
    // Stopped by close() before the connection drains, so a shutdown never restarts the server.
    local?.keep(this.#nc, signal);
    // A connection that closes on its own (not through close()) is fatal for the process.
    const nc = this.#nc;
    void nc.closed().then((error) => {
      if (!this.#closing) void this.#fail(error ?? new Error("NATS connection closed"));
    });
    this.#pipeline = await Pipeline.start({
      nc,
      config: this.#config,
      clock: systemClock,
      log: this.#log,
      signal: this.#abortStart.signal,
    });
    // Supervision gave up at the root: the process stops, non-zero, for its manager to restart it.
    void this.#pipeline.system.closed().then((error) => {
      if (error && !this.#closing) void this.#fail(error);
    });
    const { names, gateway, pipelineEvents, system } = this.#pipeline;
    this.#service = await untilNatsAnswers(
      () => serveApi({ nc, names, gateway, version: VERSION, log: this.#log }),
      { step: "serve the NATS API", log: this.#log, signal: this.#abortStart.signal },
    );
    this.#metrics = createMetrics({ pipelineEvents, actorSystem: system });
    this.#http = createHttpServer({
      gateway,
      metrics: this.#metrics,
      config: {
        port: this.#config.httpPort,
        apiToken: this.#config.apiToken,
        rateLimitPerMin: this.#config.rateLimitPerMin,
        tls: this.#config.httpTls,
        corsOrigins: this.#config.corsOrigins,
      },
      // The HTTP server names its own component.
      log: this.#log,
    });
    this.#httpAddress = await this.#http.start();
    if (this.#config.metricsPort !== undefined) {
      this.#metricsHttp = createMetricsServer({
        gateway,
        metrics: this.#metrics,
        config: { port: this.#config.metricsPort },
        log: this.#log,
      });
      const { url } = await this.#metricsHttp.start();
      this.#log.info({ url }, "metrics and health listening");
    }
  }

  async #fail(error: Error): Promise<void> {
    this.#closedWith ??= error;
    await this.close();
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#abortStart.abort();
    await this.#starting?.catch(() => undefined);
    const steps: [string, () => unknown][] = [
      ["stop the HTTP server", () => this.#http?.close()],
      ["stop the metrics listener", () => this.#metricsHttp?.close()],
      ["stop the NATS API", () => this.#service?.stop()],
      ["stop the pipeline", () => this.#pipeline?.close()],
      ["stop metrics", () => this.#metrics?.close()],
      ["drain NATS connection", () => (this.#nc?.isClosed() ? undefined : this.#nc?.drain())],
      ["stop embedded nats-server", () => this.#local?.close()],
    ];
    for (const [name, step] of steps) {
      try {
        await step();
      } catch (error) {
        this.#log.warn({ err: error, step: name }, "shutdown step failed");
      }
    }
    this.#resolveClosed(this.#closedWith);
  }

  closed(): Promise<Error | undefined> {
    return this.#closed;
  }

  /** For a forced exit (second signal): no waiting, no child left behind. */
  killChildrenNow(): void {
    this.#local?.killNow();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
