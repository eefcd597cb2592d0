import { pino } from "pino";
import { systemClock } from "../../src/clock.ts";
import { createHttpServer, type HttpServer, type HttpServerConfig } from "../../src/http/server.ts";
import { ChunkSizer } from "../../src/jobs/chunk-sizing.ts";
import { Gateway } from "../../src/jobs/gateway.ts";
import { createMetrics, type Metrics } from "../../src/metrics.ts";
import { PipelineEvents } from "../../src/pipeline-events.ts";
import { connectNats, type NatsConnection } from "../../src/transport/connection.ts";
import { EventPublisher } from "../../src/transport/events.ts";
import { natsTaskPorts } from "../../src/transport/nats-ports.ts";
import { type NatsReadiness, natsReadiness } from "../../src/transport/readiness.ts";
import { ensureTopology, type Topology } from "../../src/transport/streams.ts";
import { type Names, names } from "../../src/transport/subjects.ts";
import type { LocalWorker } from "../../src/workers/worker-registry.ts";
import { type NatsServer, startNats } from "../support/nats.ts";

export const silentLog = pino({ level: "silent" });

/** A valid job spec (DESIGN §2.1), small. */
export function spec(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "churn-mlp",
    model_type: "neural_network",
    dataset: { samples: 2000, features: 8, classes: 2, seed: 7 },
    epochs: 3,
    tasks: 2,
    hyperparameters: { learning_rate: 0.05, batch_size: 64, hidden_units: 16 },
    priority: "high",
    user_id: "alice",
    ...overrides,
  };
}

/** Everything the HTTP facade needs, over a real nats-server, and servers on real sockets. */
export interface HttpFixture {
  readonly nats: NatsServer;
  readonly nc: NatsConnection;
  readonly names: Names;
  readonly topology: Topology;
  readonly events: EventPublisher;
  readonly gateway: Gateway;
  readonly pipeline: PipelineEvents;
  readonly metrics: Metrics;
  readonly readiness: NatsReadiness;
  /** Starts another HTTP server over the same gateway, on 127.0.0.1 and a free port. */
  serve(
    config?: Partial<HttpServerConfig> & { metrics?: Metrics },
  ): Promise<{ server: HttpServer; url: string }>;
  close(): Promise<void>;
}

/** One nats-server (stopped after the file), one connection, the topology, a gateway. */
export async function startHttpFixture(
  options: { natsArgs?: string[]; workerTimeoutMs?: number; worker?: LocalWorker } = {},
): Promise<HttpFixture> {
  const nats = await startNats({ args: options.natsArgs ?? [] });
  const nc = await connectNats({ servers: [nats.url], name: "http-test", log: silentLog });
  const n = names("troupe");
  const topology = await ensureTopology(nc, n, { replicas: 1, leaseMs: 3000, jobLeaseMs: 3000 });
  const events = new EventPublisher(nc, n);
  const readiness = natsReadiness({ nc, jsm: topology.jsm, names: n, timeoutMs: 1_000 });
  const gateway = new Gateway({
    nc,
    names: n,
    topology,
    events,
    ports: natsTaskPorts(nc, n, topology),
    readiness,
    defaultMaxAttempts: 4,
    workerTimeoutMs: options.workerTimeoutMs ?? 60_000,
    sizer: new ChunkSizer(50),
    worker: options.worker,
    clock: systemClock,
    log: silentLog,
  });
  const pipeline = new PipelineEvents();
  const metrics = createMetrics({ pipelineEvents: pipeline });
  const servers: HttpServer[] = [];

  return {
    nats,
    nc,
    names: n,
    topology,
    events,
    gateway,
    pipeline,
    metrics,
    readiness,
    async serve({ metrics: own, ...config } = {}) {
      const server = createHttpServer({
        gateway,
        metrics: own ?? metrics,
        config: { port: 0, host: "127.0.0.1", rateLimitPerMin: 100_000, ...config },
        log: silentLog,
      });
      servers.push(server);
      const { url } = await server.start();
      return { server, url };
    },
    async close() {
      await Promise.all(servers.map((server) => server.close()));
      readiness.close();
      metrics.close();
      await nc.close();
    },
  };
}

/** Parses a Prometheus text exposition into `name{labels}` → value. */
export function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

// Between polls of a condition no event announces (a route's answer, a server's monitoring page).
const POLL_INTERVAL_MS = 50;

/** Polls `probe` until it returns true (no fixed sleeps: each try is a real request). */
export async function eventually(probe: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  throw new Error(`timed out waiting until ${what}`);
}
