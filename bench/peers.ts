/**
 * Troupe beside BullMQ (issue 9): one workload through both, runs alternating, in one invocation.
 *  (a) no-op tasks: throughput and p50/p99 latency from enqueue to completion;
 *  (b) CPU tasks of ~20 ms of real math (the same training code on both sides): throughput and
 *      CPU time per task;
 *  (c) both again with 3 processes on each side.
 * Beside them, with 1 process, the bare durable-task floor (bench/lib/floor.ts) on the same tasks:
 * JetStream work queue → bare piscina pool → KV result, no runtime logic — what any runtime that
 * keeps each task and result in JetStream and runs it on threads costs at least.
 * Troupe: `troupe start` processes on a private nats-server (JetStream file storage). BullMQ:
 * worker processes on the Redis at REDIS_URL (default redis://127.0.0.1:6379), under a unique key
 * prefix that is obliterated at the end. Run: `npx tsx bench/peers.ts`.
 * Env: BENCH_RUNS (5), BENCH_NOOP_TASKS (20000), BENCH_CPU_TASKS (2000).
 * Targets (2 cores): no-op throughput ≥ 1.0× BullMQ; CPU-task throughput ≥ 1.5× BullMQ.
 */
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import type { Piscina } from "piscina";
import { barePool } from "./lib/bare-pool.ts";
import { BullQueue, redisAnswers, redisConnection } from "./lib/bullmq-load.ts";
import { durableTaskFloor } from "./lib/floor.ts";
import {
  type ChildHandle,
  cpuMsOf,
  own,
  runBench,
  spawnReady,
  startCluster,
  stopEach,
} from "./lib/processes.ts";
import {
  benchRuns,
  fmt,
  fmtFigure,
  load1,
  machine,
  percentile,
  printResult,
  printTable,
  rounded,
  Samples,
} from "./lib/stats.ts";
import { runTroupeLoad, troupeClient } from "./lib/troupe-load.ts";
import { cpuSpec, taskOf, tinySpec } from "./lib/workloads.ts";

const RUNS = benchRuns();
const NOOP_TASKS = positive("BENCH_NOOP_TASKS", 20_000);
const CPU_TASKS = positive("BENCH_CPU_TASKS", 2_000);
const BATCH = 100;
/** Both sides keep at most this many tasks enqueued and not yet completed. */
const WINDOW = 10 * BATCH;
/** Troupe slots and BullMQ concurrency for no-op tasks (slots are not the bound). */
const NOOP_CONCURRENCY = 32;
const WORKER_SCRIPT = fileURLToPath(new URL("./lib/bullmq-worker.ts", import.meta.url));
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

type Side = "troupe" | "bullmq" | "floor" | "pool";
const SIDES: readonly Side[] = ["troupe", "bullmq", "floor", "pool"];
const SIDE_NAMES: Record<Side, string> = {
  troupe: "Troupe",
  bullmq: "BullMQ",
  floor: "bare durable floor",
  pool: "bare pool, no queue",
};
/** The bare pool runs the CPU tasks only: it is the CPU ceiling, not a peer. */
const runsKind = (side: Side, kind: Kind) => side !== "pool" || kind === "cpu";
type Kind = "noop" | "cpu";

await runBench(async () => {
  const host = machine();
  const connection = redisConnection(REDIS_URL);
  if (!(await redisAnswers(connection))) {
    throw new Error(
      `No Redis answers at ${REDIS_URL} (set REDIS_URL): bench/peers.ts needs one for BullMQ.`,
    );
  }
  const redis = await redisFacts(connection);
  const redisPid = redis.pid;
  console.log(
    `peers bench — ${host.date}, ${host.cpu} × ${host.cores}, Node ${host.node}, load ${host.load1}`,
  );
  console.log(
    `Troupe persists to JetStream file storage; BullMQ's Redis ${REDIS_URL} persists: save="${redis.save}", appendonly=${redis.appendonly}`,
  );
  console.log(
    `${RUNS} runs; ${NOOP_TASKS} no-op tasks and ${CPU_TASKS} CPU tasks a run, in batches of ${BATCH}, ≤ ${WINDOW} in flight`,
  );
  const prefix = `troupe-bench-${process.pid}-${Date.now()}`;
  const samples = new Samples();
  const loads: number[] = [];

  for (const processes of [1, 3]) {
    const troupes = await startCluster(processes, {
      MAX_CONCURRENT_TASKS: String(NOOP_CONCURRENCY),
    });
    const workers: Record<Kind, ChildHandle[]> = { noop: [], cpu: [] };
    const queues: Partial<Record<Kind, BullQueue>> = {};
    const nc = await troupeClient(troupes.natsUrl);
    // The floor runs in this process, on the Troupe side's nats-server, one pool thread a core.
    const pool = processes === 1 ? barePool(host.cores) : undefined;
    const closeQueues = own("BullMQ queues", async () => {
      for (const q of Object.values(queues)) await q.close();
    });
    try {
      for (const kind of ["noop", "cpu"] as const) {
        const name = `${kind}-${processes}`;
        const queue = new BullQueue(name, prefix, connection);
        queues[kind] = queue;
        await queue.ready();
        workers[kind] = await startBullWorkers(processes, {
          REDIS_URL,
          BENCH_QUEUE: name,
          BENCH_PREFIX: prefix,
          BENCH_MODE: kind,
          // CPU: one sandbox thread a core, as Troupe's pool has one thread a core.
          BENCH_CONCURRENCY: String(kind === "cpu" ? host.cores : NOOP_CONCURRENCY),
        });
      }
      const nats = troupes.natsPid ? [troupes.natsPid] : [];
      const run = async (side: Side, kind: Kind, tasks: number, record: boolean) => {
        const workerPids = {
          troupe: () => troupes.troupePids(),
          bullmq: () => workers[kind].map((w) => w.pid),
          floor: () => [process.pid],
          pool: () => [process.pid],
        }[side]();
        const pids = [...workerPids, ...(side === "bullmq" ? (redisPid ? [redisPid] : []) : nats)];
        const cpuBefore = cpuMsOf(pids);
        const workerCpuBefore = cpuMsOf(workerPids);
        const result =
          side === "troupe"
            ? await runTroupe(nc, kind, tasks)
            : side === "floor"
              ? await runFloor(troupes.natsUrl, pool as Piscina, kind, tasks)
              : side === "pool"
                ? await runBarePool(pool as Piscina, tasks)
                : await (queues[kind] as BullQueue).run({
                    batches: batchesOf(kind, tasks),
                    windowJobs: WINDOW,
                  });
        const cpuMs = cpuMsOf(pids) - cpuBefore;
        const workerCpuMs = cpuMsOf(workerPids) - workerCpuBefore;
        if (!record) return;
        const key = `${side}_${kind}_${processes}`;
        samples.add(`${key}_per_s`, result.perSecond);
        samples.add(`${key}_cpu_ms`, cpuMs / result.tasks);
        samples.add(`${key}_worker_cpu_ms`, workerCpuMs / result.tasks);
        if (!result.completionMs) return;
        samples.add(`${key}_p50`, percentile(result.completionMs, 50));
        samples.add(`${key}_p99`, percentile(result.completionMs, 99));
      };
      const sides = pool ? SIDES : SIDES.slice(0, 2);
      // Warm-up of both sides (JIT, threads, consumers, sandboxes).
      for (const side of sides) {
        if (runsKind(side, "noop")) await run(side, "noop", 3 * BATCH, false);
        await run(side, "cpu", 2 * BATCH, false);
      }
      for (let i = 0; i < RUNS; i++) {
        loads.push(load1());
        // Alternate which side goes first.
        const order = i % 2 === 0 ? sides : [...sides].reverse();
        for (const kind of ["noop", "cpu"] as const) {
          for (const side of order.filter((side) => runsKind(side, kind)))
            await run(side, kind, kind === "noop" ? NOOP_TASKS : CPU_TASKS, true);
        }
        console.log(
          `  ${processes} process(es) a side, run ${i + 1}/${RUNS} done (load ${load1()})`,
        );
      }
    } finally {
      await nc.close();
      await pool?.close({ force: true });
      await stopEach([...workers.noop, ...workers.cpu]);
      await closeQueues();
      await troupes.stop();
    }
  }

  const f = (key: string) => samples.get(key);
  const rows: string[][] = [];
  for (const processes of [1, 3]) {
    for (const kind of ["noop", "cpu"] as const) {
      for (const side of processes === 1 ? SIDES : SIDES.slice(0, 2)) {
        if (!runsKind(side, kind)) continue;
        const key = `${side}_${kind}_${processes}`;
        const latency = (q: string) =>
          side === "floor" || side === "pool" ? "–" : fmtFigure(f(`${key}_${q}`), 0);
        rows.push([
          `${kind === "noop" ? "no-op" : "CPU ~20 ms"}, ${processes} proc, ${SIDE_NAMES[side]}`,
          fmtFigure(f(`${key}_per_s`), 0),
          latency("p50"),
          latency("p99"),
          fmtFigure(f(`${key}_cpu_ms`), 2),
          fmtFigure(f(`${key}_worker_cpu_ms`), 2),
        ]);
      }
    }
  }
  printTable(
    "Median (min–max) of runs",
    ["workload", "tasks/s", "p50 ms", "p99 ms", "CPU ms/task", "of which workers"],
    rows,
  );
  const ratio = (kind: Kind, processes: number) =>
    f(`troupe_${kind}_${processes}_per_s`).median / f(`bullmq_${kind}_${processes}_per_s`).median;
  const noopRatio = ratio("noop", 1);
  const cpuRatio = ratio("cpu", 1);
  printTable(
    "Troupe ÷ BullMQ (throughput, medians)",
    ["workload", "1 process", "3 processes", "target"],
    [
      ["no-op", fmt(noopRatio, 2), fmt(ratio("noop", 3), 2), "≥ 3.0"],
      ["CPU ~20 ms", fmt(cpuRatio, 2), fmt(ratio("cpu", 3), 2), "≥ 1.3"],
    ],
  );
  const floor = (kind: Kind) => f(`floor_${kind}_1_per_s`).median;
  const bullmq = (kind: Kind) => f(`bullmq_${kind}_1_per_s`).median;
  const troupe = (kind: Kind) => f(`troupe_${kind}_1_per_s`).median;
  printTable(
    "The bare durable floor (JetStream queue → bare pool → KV result, no runtime logic), 1 process",
    ["workload", "floor ÷ BullMQ", "Troupe ÷ floor"],
    (["noop", "cpu"] as const).map((kind) => [
      kind === "noop" ? "no-op" : "CPU ~20 ms",
      fmt(floor(kind) / bullmq(kind), 2),
      fmt(troupe(kind) / floor(kind), 2),
    ]),
  );
  const barePoolCpu = f("pool_cpu_1_per_s").median;
  printTable(
    "CPU ~20 ms tasks beside a bare pool running them with no queue (same run), 1 process",
    ["measure", "ratio", "target"],
    [["Troupe ÷ bare pool", fmt(troupe("cpu") / barePoolCpu, 2), "≥ 0.95"]],
  );
  console.log(
    "\nCPU ms/task: CPU time of the worker processes (troupe or BullMQ worker, threads included) plus the broker (nats-server or redis-server) per task; the bench process itself (the producer) is not counted, but for the floor, which runs in it.",
  );
  console.log(`load average during runs: ${Math.min(...loads)}–${Math.max(...loads)}`);
  const result: Record<string, unknown> = {
    bench: "peers",
    date: host.date,
    machine: `${host.cpu} x ${host.cores}`,
    runs: RUNS,
    noop_tasks: NOOP_TASKS,
    cpu_tasks: CPU_TASKS,
    load1_min: Math.min(...loads),
    load1_max: Math.max(...loads),
    redis_save: redis.save,
    redis_appendonly: redis.appendonly,
  };
  for (const processes of [1, 3]) {
    const suffix = processes === 1 ? "" : "_3proc";
    for (const side of ["troupe", "bullmq"] as const) {
      for (const kind of ["noop", "cpu"] as const) {
        const key = `${side}_${kind}_${processes}`;
        result[`${side}_${kind}_per_s${suffix}`] = Math.round(f(`${key}_per_s`).median);
        result[`${side}_${kind}_p50_ms${suffix}`] = rounded(f(`${key}_p50`).median);
        result[`${side}_${kind}_p99_ms${suffix}`] = rounded(f(`${key}_p99`).median);
        result[`${side}_${kind}_cpu_ms_per_task${suffix}`] = rounded(f(`${key}_cpu_ms`).median, 2);
      }
    }
  }
  result.noop_troupe_over_bullmq = rounded(noopRatio, 2);
  result.cpu_troupe_over_bullmq = rounded(cpuRatio, 2);
  result.noop_troupe_over_bullmq_3proc = rounded(ratio("noop", 3), 2);
  result.cpu_troupe_over_bullmq_3proc = rounded(ratio("cpu", 3), 2);
  for (const kind of ["noop", "cpu"] as const) {
    result[`floor_${kind}_per_s`] = Math.round(floor(kind));
    result[`floor_${kind}_cpu_ms_per_task`] = rounded(f(`floor_${kind}_1_cpu_ms`).median, 2);
    result[`floor_${kind}_over_bullmq`] = rounded(floor(kind) / bullmq(kind), 2);
    result[`troupe_${kind}_over_floor`] = rounded(troupe(kind) / floor(kind), 2);
  }
  result.bare_pool_cpu_per_s = Math.round(barePoolCpu);
  result.troupe_cpu_over_bare_pool = rounded(troupe("cpu") / barePoolCpu, 2);
  result.noop_target_met = noopRatio >= 3;
  result.cpu_target_met = cpuRatio >= 1.3 && troupe("cpu") / barePoolCpu >= 0.95;
  printResult(result);
});

function runTroupe(nc: Awaited<ReturnType<typeof troupeClient>>, kind: Kind, tasks: number) {
  const jobs = Math.ceil(tasks / BATCH);
  const spec = kind === "noop" ? tinySpec(BATCH) : cpuSpec(BATCH);
  return runTroupeLoad(nc, { jobs: Array.from({ length: jobs }, () => spec), windowTasks: WINDOW });
}

/** The same tasks as `runTroupe` through the bare durable floor, as many at once as Troupe runs. */
async function runFloor(url: string, pool: Piscina, kind: Kind, tasks: number) {
  const spec = kind === "noop" ? tinySpec(BATCH) : cpuSpec(BATCH);
  const perSecond = await durableTaskFloor(url, pool, tasks, NOOP_CONCURRENCY, (i) => ({
    kind: "train",
    input: taskOf(spec, i % BATCH),
  }));
  return { perSecond, tasks, completionMs: undefined };
}

/** The CPU tasks straight into the bare pool, as many at once as Troupe runs: no queue at all. */
async function runBarePool(pool: Piscina, tasks: number) {
  const spec = cpuSpec(BATCH);
  const began = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < tasks) {
      const i = next++;
      await pool.run({ kind: "train", input: taskOf(spec, i % BATCH) });
    }
  };
  await Promise.all(Array.from({ length: NOOP_CONCURRENCY }, lane));
  return {
    perSecond: tasks / ((performance.now() - began) / 1000),
    tasks,
    completionMs: undefined,
  };
}

/** BullMQ job data: the same task inputs Troupe's job would hand its pool (no-op: a marker). */
function batchesOf(kind: Kind, tasks: number): unknown[][] {
  const spec = kind === "noop" ? tinySpec(BATCH) : cpuSpec(BATCH);
  return Array.from({ length: Math.ceil(tasks / BATCH) }, () =>
    Array.from({ length: BATCH }, (_, i) => (kind === "noop" ? { i } : taskOf(spec, i))),
  );
}

async function startBullWorkers(count: number, env: Record<string, string>) {
  const started = await Promise.allSettled(
    Array.from({ length: count }, (_, i) =>
      spawnReady({
        name: `bullmq-${env.BENCH_MODE}-${i}`,
        command: process.execPath,
        args: ["--import", "tsx", WORKER_SCRIPT],
        env,
        ready: (line) => line.trim() === "ready",
      }),
    ),
  );
  const failed = started.find((s) => s.status === "rejected");
  if (failed) {
    await stopEach(started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : [])));
    throw (failed as PromiseRejectedResult).reason;
  }
  return started.map((s) => (s as PromiseFulfilledResult<ChildHandle>).value);
}

/**
 * redis-server's pid (from INFO), to count its CPU time (undefined if it is not on this host), and
 * what it persists (CONFIG GET save / appendonly; "?" where CONFIG is not allowed).
 */
async function redisFacts(connection: ReturnType<typeof redisConnection>) {
  const redis = new Redis({ ...connection, lazyConnect: true });
  try {
    await redis.connect();
    const info = await redis.info("server");
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    const local = connection.host === "127.0.0.1" || connection.host === "localhost";
    const config = async (name: string) => {
      try {
        const reply = (await redis.call("CONFIG", "GET", name)) as string[];
        return reply[1] ?? "?";
      } catch {
        return "?";
      }
    };
    return {
      pid: local && Number.isInteger(pid) ? pid : undefined,
      save: await config("save"),
      appendonly: await config("appendonly"),
    };
  } finally {
    redis.disconnect();
  }
}

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number ≥ 1`);
  return value;
}
