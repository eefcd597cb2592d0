import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyInstance, LogController } from "fastify";
import { dashboard } from "../dashboard/plugin.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { NatsConnection } from "../transport/connection.ts";
import { subscribeJobEvents } from "../transport/events.ts";
import type { Names } from "../transport/subjects.ts";
import type { GatewayApi } from "./gateway-api.ts";
import { bearerAuth } from "./plugins/auth.ts";
import { jsonBodies } from "./plugins/json.ts";
import { openApi } from "./plugins/openapi.ts";
import { problemHandling } from "./plugins/problem.ts";
import { rateLimiting } from "./plugins/rate-limit.ts";
import { yamlBodies } from "./plugins/yaml.ts";
import { healthRoutes } from "./routes/health.ts";
import { jobEventRoutes } from "./routes/job-events.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { queueRoutes } from "./routes/queue.ts";
import { workerRoutes } from "./routes/workers.ts";
import { validatorCompiler } from "./validation.ts";

export interface HttpServerConfig {
  /** TCP port (PORT); 0 picks a free one. */
  port: number;
  /** @default "0.0.0.0" */
  host?: string;
  /** TROUPE_API_TOKEN; undefined turns bearer auth off. */
  apiToken?: string | undefined;
  /** RATE_LIMIT_PER_MIN: requests per client per minute. */
  rateLimitPerMin: number;
  /** @default 1_048_576 (1 MiB) — a batch of 1000 specs fits with room to spare. */
  bodyLimitBytes?: number;
  /** @default 15_000 — under the 30–60 s idle timeouts of common proxies. */
  sseKeepAliveMs?: number;
  /**
   * How long `close()` waits for requests in flight before cutting their connections.
   * @default 10_000 — longer than any gateway call, short enough for a process manager.
   */
  closeTimeoutMs?: number;
}

export interface HttpServerOptions {
  gateway: GatewayApi;
  /** For the job event streams (core NATS subscriptions). */
  nc: NatsConnection;
  names: Names;
  metrics: Pick<Metrics, "render" | "contentType">;
  /** `/readyz`: NATS connected and streams present (see `natsReadiness`). */
  isReady: () => Promise<boolean>;
  config: HttpServerConfig;
  log: Logger;
}

/** Where the server listens. */
export interface HttpAddress {
  host: string;
  port: number;
  /** `http://host:port`, for clients. */
  url: string;
}

/** The HTTP facade (DESIGN §2.4), with the one lifecycle of every long-lived part. */
export interface HttpServer extends AsyncDisposable {
  /** Listens; idempotent (the same promise every time). */
  start(): Promise<HttpAddress>;
  /** Ends the event streams, stops accepting, waits for requests in flight. Memoized. */
  close(): Promise<void>;
  /** Resolves once closed, with the error that closed it, if any. Never rejects. */
  closed(): Promise<Error | undefined>;
  /** Open job event streams (for tests and diagnostics). */
  readonly openEventStreams: number;
}

const DEFAULTS = Object.freeze({
  host: "0.0.0.0",
  bodyLimitBytes: 1_048_576,
  sseKeepAliveMs: 15_000,
  closeTimeoutMs: 10_000,
});
const VERSION = "0.1.0";

/** Builds the fastify app with every plugin and route; `start()` listens. */
export function createHttpServer(options: HttpServerOptions): HttpServer {
  return new TroupeHttpServer(options);
}

/** The fastify app alone, for callers that listen themselves (bench, embedding). */
export function buildHttpApp(options: HttpServerOptions, streams = new Set<AbortController>()) {
  const { config, gateway } = options;
  const app = Fastify({
    loggerInstance: options.log.child({ component: "http" }),
    // One line per request costs more than a submit's own work; errors are logged by the problem plugin.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes ?? DEFAULTS.bodyLimitBytes,
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
    return503OnClosing: true,
    forceCloseConnections: "idle",
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);

  app.register(problemHandling);
  app.register(rateLimiting, { perMinute: config.rateLimitPerMin });
  app.register(bearerAuth, { token: config.apiToken });
  app.register(jsonBodies);
  app.register(yamlBodies);
  app.register(openApi, { version: VERSION });
  app.register(jobRoutes, { gateway });
  app.register(jobEventRoutes, {
    gateway,
    subscribe: (jobId, signal) => subscribeJobEvents(options.nc, options.names, jobId, signal),
    keepAliveMs: config.sseKeepAliveMs ?? DEFAULTS.sseKeepAliveMs,
    streams,
  });
  app.register(workerRoutes, { gateway });
  app.register(queueRoutes, { gateway });
  app.register(healthRoutes, { isReady: options.isReady });
  app.register(metricsRoutes, { metrics: options.metrics });
  app.register(dashboard);
  // Event streams never end on their own: end them first, or close() would wait for them.
  app.addHook("preClose", async () => {
    for (const stream of streams) stream.abort();
  });
  return app;
}

class TroupeHttpServer implements HttpServer {
  readonly #app: FastifyInstance;
  readonly #config: HttpServerConfig;
  readonly #streams = new Set<AbortController>();
  #starting: Promise<HttpAddress> | undefined;
  #closing: Promise<void> | undefined;
  #closedWith: Error | undefined;
  #resolveClosed!: (error: Error | undefined) => void;
  readonly #closed = new Promise<Error | undefined>((resolve) => {
    this.#resolveClosed = resolve;
  });

  constructor(options: HttpServerOptions) {
    this.#config = options.config;
    this.#app = buildHttpApp(options, this.#streams) as unknown as FastifyInstance;
  }

  get openEventStreams(): number {
    return this.#streams.size;
  }

  start(): Promise<HttpAddress> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<HttpAddress> {
    if (this.#closing) throw new Error("the HTTP server is closed");
    const host = this.#config.host ?? DEFAULTS.host;
    await this.#app.listen({ port: this.#config.port, host });
    const address = this.#app.server.address();
    const port = typeof address === "object" && address !== null ? address.port : this.#config.port;
    const shown = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
    return { host, port, url: `http://${shown.includes(":") ? `[${shown}]` : shown}:${port}` };
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await this.#starting?.catch(() => undefined);
    // Stop intake and drain (event streams end first, in preClose); past the bound, cut.
    const force = setTimeout(
      () => this.#app.server.closeAllConnections(),
      this.#config.closeTimeoutMs ?? DEFAULTS.closeTimeoutMs,
    );
    try {
      await this.#app.close();
    } catch (error) {
      this.#closedWith = error as Error;
    } finally {
      clearTimeout(force);
    }
    this.#resolveClosed(this.#closedWith);
  }

  closed(): Promise<Error | undefined> {
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
