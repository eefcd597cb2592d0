import { readFileSync } from "node:fs";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyInstance, LogController } from "fastify";
import { dashboard } from "../dashboard/plugin.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { GatewayApi } from "./gateway-api.ts";
import { bearerAuth } from "./plugins/auth.ts";
import { cors } from "./plugins/cors.ts";
import { jsonBodies } from "./plugins/json.ts";
import { openApi } from "./plugins/openapi.ts";
import { problemHandling } from "./plugins/problem.ts";
import { rateLimiting } from "./plugins/rate-limit.ts";
import { yamlBodies } from "./plugins/yaml.ts";
import { adminRoutes } from "./routes/admin.ts";
import { dataRoutes } from "./routes/data.ts";
import { dependencyRoutes } from "./routes/dependencies.ts";
import { healthRoutes } from "./routes/health.ts";
import { jobEventRoutes } from "./routes/job-events.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { queueRoutes } from "./routes/queue.ts";
import { resourceRoutes } from "./routes/resources.ts";
import { templateRoutes } from "./routes/templates.ts";
import { workerRoutes } from "./routes/workers.ts";
import { workflowRoutes } from "./routes/workflows.ts";
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
  /** TLS_CERT and TLS_KEY: HTTPS instead of HTTP. */
  tls?: { certFile: string; keyFile: string } | undefined;
  /** CORS_ORIGINS: origins a browser may call from (`*` for any); empty or absent: CORS off. */
  corsOrigins?: readonly string[] | undefined;
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
  metrics: Pick<Metrics, "render" | "contentType">;
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
  const streams = new Set<AbortController>();
  return new TroupeHttpServer(buildHttpApp(options, streams), options.config, streams);
}

/**
 * METRICS_PORT's listener, as seed 004's worker has it: `/metrics` and `/health` alone, without
 * the token (what a scraper and a probe call), plain HTTP.
 */
export function createMetricsServer(
  options: Pick<HttpServerOptions, "metrics" | "log"> & {
    gateway: Pick<GatewayApi, "isReady" | "health">;
    config: Pick<HttpServerConfig, "port" | "host" | "closeTimeoutMs">;
  },
): HttpServer {
  const app = Fastify({
    loggerInstance: options.log.child({ component: "metrics-http" }),
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: "idle",
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.register(problemHandling);
  app.register(healthRoutes, { gateway: options.gateway });
  app.register(metricsRoutes, { metrics: options.metrics });
  return new TroupeHttpServer(app as unknown as FastifyInstance, options.config, new Set());
}

/** The fastify app alone, for callers that listen themselves (bench, embedding). */
export function buildHttpApp(options: HttpServerOptions, streams = new Set<AbortController>()) {
  const { config, gateway } = options;
  const app = Fastify({
    ...(config.tls && {
      https: { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) },
    }),
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
  // Before auth and the rate limit: a browser's preflight carries no token.
  app.register(cors, { origins: config.corsOrigins ?? [] });
  app.register(rateLimiting, { perMinute: config.rateLimitPerMin });
  app.register(bearerAuth, { token: config.apiToken });
  app.register(jsonBodies);
  app.register(yamlBodies);
  app.register(openApi, { version: VERSION });
  app.register(jobRoutes, { gateway });
  app.register(jobEventRoutes, {
    gateway,
    keepAliveMs: config.sseKeepAliveMs ?? DEFAULTS.sseKeepAliveMs,
    streams,
  });
  app.register(workerRoutes, { gateway });
  app.register(resourceRoutes, { gateway });
  app.register(queueRoutes, { gateway });
  app.register(healthRoutes, { gateway });
  app.register(adminRoutes, { gateway });
  app.register(dataRoutes, { data: gateway.data, submit: (spec) => gateway.submit(spec) });
  app.register(dependencyRoutes, { gateway });
  app.register(workflowRoutes, { gateway });
  app.register(templateRoutes, { gateway });
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
  readonly #config: Pick<HttpServerConfig, "port" | "host" | "closeTimeoutMs" | "tls">;
  readonly #streams: Set<AbortController>;
  #starting: Promise<HttpAddress> | undefined;
  #closing: Promise<void> | undefined;
  #closedWith: Error | undefined;
  #resolveClosed!: (error: Error | undefined) => void;
  readonly #closed = new Promise<Error | undefined>((resolve) => {
    this.#resolveClosed = resolve;
  });

  constructor(
    app: unknown,
    config: Pick<HttpServerConfig, "port" | "host" | "closeTimeoutMs" | "tls">,
    streams: Set<AbortController>,
  ) {
    // The typed app (TypeBox provider) is the same instance: only its generic types differ.
    this.#app = app as FastifyInstance;
    this.#config = config;
    this.#streams = streams;
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
    const scheme = this.#config.tls ? "https" : "http";
    return { host, port, url: `${scheme}://${shown.includes(":") ? `[${shown}]` : shown}:${port}` };
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
