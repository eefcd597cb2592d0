/**
 * The raw ceilings under Troupe (issue 9), measured in one run on this machine: a bare NATS
 * request/reply loop, a bare JetStream work-queue publish → consume → ack loop, and a bare piscina
 * pool running no-op tasks and ~20 ms training tasks on 1 and 2 threads. Nothing of Troupe runs
 * but its training function (the CPU task). Run: `npx tsx bench/limits.ts` (BENCH_RUNS=n).
 */
import { connect } from "@nats-io/transport-node";
import type { Piscina } from "piscina";
import { barePool } from "./lib/bare-pool.ts";
import { jetstreamCeiling } from "./lib/jetstream.ts";
import { runBench, startCluster } from "./lib/processes.ts";
import {
  benchRuns,
  fmtFigure,
  load1,
  machine,
  printResult,
  printTable,
  rounded,
  Samples,
} from "./lib/stats.ts";
import { cpuSpec, taskOf } from "./lib/workloads.ts";

const RUNS = benchRuns();
const REQUESTS = 10_000;
const PIPELINED_IN_FLIGHT = 64;
const JETSTREAM_MESSAGES = 20_000;
const POOL_NOOPS = 20_000;
const POOL_CPU_TASKS = 200;
/** Tasks handed to piscina at once (its queue holds the rest of the window). */
const POOL_WINDOW = 1_000;

await runBench(async () => {
  const host = machine();
  console.log(
    `limits bench — ${host.date}, ${host.cpu} × ${host.cores}, Node ${host.node}, load ${host.load1}`,
  );
  const cluster = await startCluster(0);
  const samples = new Samples();
  const loads: number[] = [];
  const server = await connect({ servers: cluster.natsUrl, noAsyncTraces: true });
  const client = await connect({ servers: cluster.natsUrl, noAsyncTraces: true });
  server.subscribe("bench.echo", {
    callback: (_e, msg) => {
      msg.respond(msg.data);
    },
  });
  await server.flush();
  const pools = new Map<number, Piscina>();
  try {
    for (const threads of [1, 2]) {
      pools.set(threads, barePool(threads));
    }
    // Warm-up: JIT, connections, threads (which compile the training code on first use).
    await requestReply(client, 1_000, 1);
    await jetstreamCeiling(cluster.natsUrl, 2_000);
    for (const pool of pools.values()) {
      await poolRun(pool, 1_000, "noop");
      await poolRun(pool, 20, "train");
    }
    for (let run = 0; run < RUNS; run++) {
      loads.push(load1());
      samples.add("reqrep", await requestReply(client, REQUESTS, 1));
      samples.add("reqrep_pipelined", await requestReply(client, REQUESTS, PIPELINED_IN_FLIGHT));
      samples.add("jetstream", await jetstreamCeiling(cluster.natsUrl, JETSTREAM_MESSAGES));
      const cpu: number[] = [];
      for (const [threads, pool] of pools) {
        samples.add(`noop_${threads}`, await poolRun(pool, POOL_NOOPS, "noop"));
        cpu.push(await poolRun(pool, POOL_CPU_TASKS, "train"));
        samples.add(`cpu_${threads}`, cpu[cpu.length - 1] as number);
      }
      // Per run, so that a load change between runs does not skew the ratio.
      samples.add("speedup", (cpu[1] as number) / (cpu[0] as number));
      console.log(`  run ${run + 1}/${RUNS} done (load ${load1()})`);
    }
  } finally {
    await client.close();
    await server.close();
    for (const pool of pools.values()) await pool.close({ force: true });
    await cluster.stop();
  }

  const f = (key: string) => samples.get(key);
  const speedup = f("speedup").median;
  printTable(
    "Raw ceilings, median (min–max) of runs",
    ["measure", "per second"],
    [
      ["NATS request/reply, one at a time (round trips)", fmtFigure(f("reqrep"), 0)],
      [`NATS request/reply, ${PIPELINED_IN_FLIGHT} in flight`, fmtFigure(f("reqrep_pipelined"), 0)],
      ["JetStream work queue publish → consume → ack (file)", fmtFigure(f("jetstream"), 0)],
      ["piscina no-op, 1 thread", fmtFigure(f("noop_1"), 0)],
      ["piscina no-op, 2 threads", fmtFigure(f("noop_2"), 0)],
      ["piscina ~20 ms training task, 1 thread", fmtFigure(f("cpu_1"), 1)],
      ["piscina ~20 ms training task, 2 threads", fmtFigure(f("cpu_2"), 1)],
    ],
  );
  console.log(
    `\npiscina speed-up of 2 threads over 1 (~20 ms tasks, per run): ${fmtFigure(f("speedup"), 2)}×`,
  );
  console.log(`load average during runs: ${Math.min(...loads)}–${Math.max(...loads)}`);
  printResult({
    bench: "limits",
    date: host.date,
    machine: `${host.cpu} x ${host.cores}`,
    runs: RUNS,
    load1_min: Math.min(...loads),
    load1_max: Math.max(...loads),
    nats_reqrep_per_s: Math.round(f("reqrep").median),
    nats_reqrep_pipelined_per_s: Math.round(f("reqrep_pipelined").median),
    jetstream_e2e_per_s: Math.round(f("jetstream").median),
    jetstream_e2e_per_s_min: Math.round(f("jetstream").min),
    jetstream_e2e_per_s_max: Math.round(f("jetstream").max),
    piscina_noop_per_s: Math.round(f("noop_1").median),
    piscina_noop_per_s_2_threads: Math.round(f("noop_2").median),
    piscina_cpu_per_s: rounded(f("cpu_1").median),
    piscina_cpu_per_s_2_threads: rounded(f("cpu_2").median),
    piscina_speedup_2_threads: rounded(speedup, 2),
  });
});

/** Round trips per second with `inFlight` requests outstanding at a time. */
async function requestReply(
  nc: Awaited<ReturnType<typeof connect>>,
  count: number,
  inFlight: number,
): Promise<number> {
  const payload = new Uint8Array(64);
  let next = 0;
  const started = performance.now();
  const loop = async () => {
    while (next < count) {
      next += 1;
      await nc.request("bench.echo", payload, { timeout: 5_000 });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, loop));
  return count / ((performance.now() - started) / 1000);
}

/** Tasks per second through `pool`, at most POOL_WINDOW submitted and not finished. */
async function poolRun(pool: Piscina, count: number, kind: "noop" | "train"): Promise<number> {
  const spec = cpuSpec(100);
  let next = 0;
  const started = performance.now();
  const loop = async () => {
    while (next < count) {
      const index = next++;
      await pool.run(kind === "noop" ? { kind } : { kind, input: taskOf(spec, index % 100) });
    }
  };
  await Promise.all(Array.from({ length: Math.min(POOL_WINDOW, count) }, loop));
  return count / ((performance.now() - started) / 1000);
}
