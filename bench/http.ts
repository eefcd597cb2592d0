/**
 * HTTP submit throughput against a baseline. Run: `node --import tsx bench/http.ts`.
 *
 * Two servers in this process: the real facade (`POST /api/v1/jobs`: parse, validate, KV create,
 * JetStream publish, event) over a real nats-server, and a bare fastify route doing the same
 * parsing and validation (parseJobSpec) and the same schema-serialized reply, with no NATS work.
 * autocannon drives each from a separate process, 50 connections, 10 s a run — RUNS alternating
 * runs of each (default 3), so both see the same machine load; the table shows the median with min
 * and max; last, `RESULT {json}`.
 * Environment: BENCH_RUNS, BENCH_RUN_S, BENCH_CONNECTIONS; BENCH_STUB=1 swaps the gateway's submit
 * for the validation alone, to see what the facade itself (plugins, hooks, routing) costs.
 */

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify from "fastify";
import { pino } from "pino";
import { systemClock } from "../src/clock.ts";
import { SubmitReplySchema } from "../src/http/schemas.ts";
import { createHttpServer } from "../src/http/server.ts";
import { ChunkSizer } from "../src/jobs/chunk-sizing.ts";
import { Gateway } from "../src/jobs/gateway.ts";
import { parseJobSpec } from "../src/jobs/job-spec.ts";
import { createMetrics } from "../src/metrics.ts";
import { PipelineEvents } from "../src/pipeline-events.ts";
import { connectNats } from "../src/transport/connection.ts";
import { EventPublisher } from "../src/transport/events.ts";
import { natsTaskPorts } from "../src/transport/nats-ports.ts";
import { spawnNatsServer } from "../src/transport/nats-server-process.ts";
import { natsReadiness } from "../src/transport/readiness.ts";
import { ensureTopology } from "../src/transport/streams.ts";
import { names } from "../src/transport/subjects.ts";
import { freePort } from "../test/support/free-port.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const RUN_S = Number(process.env.BENCH_RUN_S ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const log = pino({ level: "silent" });

const SPEC = JSON.stringify({
  name: "bench-mlp",
  model_type: "neural_network",
  dataset: { samples: 2000, features: 8, classes: 2, seed: 7 },
  epochs: 3,
  tasks: 4,
  hyperparameters: { learning_rate: 0.05, batch_size: 64, hidden_units: 16 },
  priority: "normal",
  user_id: "bench",
});

interface Run {
  rps: number;
  p99: number;
  non2xx: number;
  errors: number;
}

/** One autocannon run in its own process; its JSON report parsed. */
function autocannon(url: string, seconds: number): Promise<Run> {
  const args = ["-c", String(CONNECTIONS), "-d", String(seconds), "-m", "POST", "-H"];
  args.push("content-type=application/json", "-b", SPEC, "-j", url);
  return new Promise((resolve, reject) => {
    const child = spawn(join("node_modules", ".bin", "autocannon"), args, {
      stdio: ["ignore", "pipe", "ignore"],
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited with ${code}`));
      const report = JSON.parse(out) as {
        requests: { average: number };
        latency: { p99: number };
        non2xx: number;
        errors: number;
      };
      resolve({
        rps: report.requests.average,
        p99: report.latency.p99,
        non2xx: report.non2xx,
        errors: report.errors,
      });
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const stats = (xs: number[]) => ({
  median: median(xs),
  min: Math.min(...xs),
  max: Math.max(...xs),
});

async function main(): Promise<void> {
  const natsPort = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), "troupe-bench-http-"));
  const nats = await spawnNatsServer({
    args: ["-a", "127.0.0.1", "-p", String(natsPort), "-js", "-sd", storeDir],
  });
  const nc = await connectNats({
    servers: [`nats://127.0.0.1:${natsPort}`],
    name: "bench-http",
    log,
  });
  const n = names("troupe");
  const topology = await ensureTopology(nc, n, {
    replicas: 1,
    leaseMs: 30_000,
    jobLeaseMs: 30_000,
  });
  const readiness = natsReadiness({ nc, jsm: topology.jsm, names: n });
  const gateway = new Gateway({
    nc,
    names: n,
    topology,
    events: new EventPublisher(nc, n),
    ports: natsTaskPorts(nc, n, topology),
    readiness,
    defaultMaxAttempts: 4,
    workerTimeoutMs: 60_000,
    sizer: new ChunkSizer(50),
    clock: systemClock,
    log,
  });
  const metrics = createMetrics({ pipelineEvents: new PipelineEvents() });
  const stub = process.env.BENCH_STUB === "1";
  const facade = createHttpServer({
    gateway: stub
      ? Object.assign(Object.create(gateway), {
          submit: async (body: unknown) => ({
            job_id: "job_0",
            status: "SUBMITTED",
            total_tasks: parseJobSpec(body, { maxAttempts: 4 }).tasks,
            duplicate: false,
          }),
        })
      : gateway,
    metrics,
    config: { port: 0, host: "127.0.0.1", rateLimitPerMin: 100_000_000 },
    log,
  });
  const submitUrl = `${(await facade.start()).url}/api/v1/jobs`;

  const baseline = Fastify({ bodyLimit: 1_048_576 });
  baseline.post(
    "/baseline",
    { schema: { response: { 202: SubmitReplySchema } } },
    async (request, reply) => {
      const spec = parseJobSpec(request.body, { maxAttempts: 4 });
      return reply
        .code(202)
        .send({ job_id: "job_0", status: "SUBMITTED", total_tasks: spec.tasks, duplicate: false });
    },
  );
  await baseline.listen({ port: 0, host: "127.0.0.1" });
  const address = baseline.server.address();
  const baselineUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/baseline`;

  try {
    await autocannon(submitUrl, 1); // warm-up (JIT, connections, KV bucket caches)
    await autocannon(baselineUrl, 1);
    const submit: Run[] = [];
    const base: Run[] = [];
    for (let i = 0; i < RUNS; i++) {
      submit.push(await autocannon(submitUrl, RUN_S));
      base.push(await autocannon(baselineUrl, RUN_S));
    }
    const bad = [...submit, ...base].reduce((sum, r) => sum + r.non2xx + r.errors, 0);
    const s = { rps: stats(submit.map((r) => r.rps)), p99: stats(submit.map((r) => r.p99)) };
    const b = { rps: stats(base.map((r) => r.rps)), p99: stats(base.map((r) => r.p99)) };
    const row = (name: string, x: ReturnType<typeof stats>, unit: string) =>
      `${name.padEnd(30)} ${x.median.toFixed(0).padStart(8)} ${x.min.toFixed(0).padStart(8)} ${x.max.toFixed(0).padStart(8)}  ${unit}`;
    console.log(
      `HTTP submit vs baseline: ${RUNS} alternating runs of ${RUN_S} s each, ${CONNECTIONS} connections`,
    );
    console.log(
      `${"".padEnd(30)} ${"median".padStart(8)} ${"min".padStart(8)} ${"max".padStart(8)}`,
    );
    console.log(row("submit (NATS) requests/s", s.rps, "req/s"));
    console.log(row("baseline (no NATS) requests/s", b.rps, "req/s"));
    console.log(row("submit p99", s.p99, "ms"));
    console.log(row("baseline p99", b.p99, "ms"));
    const ratio = s.rps.median / b.rps.median;
    // Each submit run beside the baseline run right after it: robust to the load drifting.
    const pairs = stats(submit.map((r, i) => r.rps / (base[i] as Run).rps));
    console.log(
      `submit / baseline: ${(ratio * 100).toFixed(1)} % of medians; per run pair ${(pairs.median * 100).toFixed(1)} % (${(pairs.min * 100).toFixed(1)}–${(pairs.max * 100).toFixed(1)}) (target >= 50 %); non-2xx or errors: ${bad}`,
    );
    console.log(
      `RESULT ${JSON.stringify({
        submit_rps: Math.round(s.rps.median),
        baseline_rps: Math.round(b.rps.median),
        submit_p99_ms: s.p99.median,
        baseline_p99_ms: b.p99.median,
        ratio: Number(ratio.toFixed(3)),
        ratio_per_run_pair: Number(pairs.median.toFixed(3)),
        ratio_per_run_pair_min: Number(pairs.min.toFixed(3)),
        runs: RUNS,
        run_s: RUN_S,
        connections: CONNECTIONS,
        non2xx_or_errors: bad,
      })}`,
    );
  } finally {
    await facade.close();
    await baseline.close();
    readiness.close();
    metrics.close();
    await nc.close();
    nats.kill("SIGTERM");
    await new Promise((resolve) => nats.once("exit", resolve));
    rmSync(storeDir, { recursive: true, force: true });
  }
}

await main();
