/**
 * Pipeline bench (issue 4): end-to-end tasks/s of tiny tasks (submit → result recorded) through 1
 * and 3 `troupe` processes, beside the bare JetStream work-queue ceiling measured in the same run
 * on the same nats-server; and the latency from submit to the first task starting. Beside both,
 * the bare durable-task floor (bench/lib/floor.ts) on the same tiny tasks: JetStream queue → bare
 * pool → KV result with no runtime logic, what any runtime keeping tasks and results in JetStream
 * and training on threads costs at least.
 * Run: `npx tsx bench/pipeline.ts` (BENCH_RUNS=n for more or fewer runs than 5).
 * Target (the task-chunk issue): end to end ≥ 1.0× the bare one-message-per-task JetStream ceiling.
 * `--placement` (issue 20): each run also sends the same load with `resources` on every job (1.5
 * GB a task: a resource class's lanes, its memory accounted, the PLACEMENT deferral judged), and
 * prints both side by side. Target: placement on within 10 % of off.
 */
import { barePool } from "./lib/bare-pool.ts";
import { durableTaskFloor } from "./lib/floor.ts";
import { jetstreamCeiling } from "./lib/jetstream.ts";
import { runBench, startCluster } from "./lib/processes.ts";
import {
  benchRuns,
  fmtFigure,
  load1,
  machine,
  percentile,
  printResult,
  printTable,
  rounded,
  Samples,
} from "./lib/stats.ts";
import { runTroupeLoad, tinySpec, troupeClient } from "./lib/troupe-load.ts";
import { taskOf } from "./lib/workloads.ts";

const RUNS = benchRuns();
const TASKS_PER_JOB = 100;
/** 6,000 tasks a run: long enough that filling and draining the window is a small part of it. */
const JOBS_PER_RUN = 60;
/** Jobs run before measuring: until the main thread's per-job cost stops falling (JIT). */
const WARM_UP_JOBS = 30;
/** Tasks submitted and not yet recorded: ten jobs in flight keep every process busy. */
const WINDOW_TASKS = 10 * TASKS_PER_JOB;
const CEILING_MESSAGES = 20_000;
/** Jobs submitted one after another (each waits for the previous to end) for the latency figure. */
const LATENCY_JOBS = 100;
const LATENCY_TASKS = 10;
const PROCESS_COUNTS = [1, 3] as const;
const SLOTS = 32;
/** Memory enough for every slot's 1.5 GB task: placement's cost is measured, not its limit. */
const TROUPE_ENV = { MAX_CONCURRENT_TASKS: String(SLOTS), WORKER_MEMORY_GB: "64" };
const PLACEMENT = process.argv.includes("--placement");
/** A tiny job whose tasks go to a resource class's lanes rather than the default ones. */
const placedSpec = (tasks: number) => ({
  ...tinySpec(tasks),
  resources: { cpu_cores: 1, memory_gb: 1.5 },
});
const FLOOR_TASKS = 5_000;

await runBench(async () => {
  const host = machine();
  console.log(
    `pipeline bench — ${host.date}, ${host.cpu} × ${host.cores}, Node ${host.node}, load ${host.load1}`,
  );
  console.log(
    `${RUNS} runs; tiny task = logistic_regression, 1 epoch, ~10-row shard; jobs of ${TASKS_PER_JOB} tasks, ${JOBS_PER_RUN} jobs a run, ≤ ${WINDOW_TASKS} tasks in flight`,
  );
  const samples = new Samples();
  const loads: number[] = [];
  const pool = barePool(host.cores);
  const floorSpec = tinySpec(TASKS_PER_JOB);
  const floorTask = (i: number) => ({
    kind: "train",
    input: taskOf(floorSpec, i % TASKS_PER_JOB),
  });

  for (const processes of PROCESS_COUNTS) {
    // Each phase has its own nats-server; the ceiling is measured on it, between Troupe runs.
    const cluster = await startCluster(processes, TROUPE_ENV);
    const nc = await troupeClient(cluster.natsUrl);
    try {
      const jobs = Array.from({ length: JOBS_PER_RUN }, () => tinySpec(TASKS_PER_JOB));
      const placed = Array.from({ length: JOBS_PER_RUN }, () => placedSpec(TASKS_PER_JOB));
      // Warm-up: JIT, pool threads, consumers (and the resource class's lanes).
      await runTroupeLoad(nc, { jobs: jobs.slice(0, WARM_UP_JOBS), windowTasks: WINDOW_TASKS });
      if (PLACEMENT) {
        await runTroupeLoad(nc, { jobs: placed.slice(0, WARM_UP_JOBS), windowTasks: WINDOW_TASKS });
      }
      await durableTaskFloor(cluster.natsUrl, pool, 1_000, SLOTS, floorTask);
      for (let run = 0; run < RUNS; run++) {
        loads.push(load1());
        const ceiling = await jetstreamCeiling(cluster.natsUrl, CEILING_MESSAGES);
        samples.add("ceiling", ceiling);
        const floor = await durableTaskFloor(cluster.natsUrl, pool, FLOOR_TASKS, SLOTS, floorTask);
        samples.add("floor", floor);
        samples.add("floor_ratio", floor / ceiling);
        const result = await runTroupeLoad(nc, { jobs, windowTasks: WINDOW_TASKS });
        samples.add(`e2e_${processes}`, result.perSecond);
        // Per run (ceiling measured just before): robust to the load changing between runs.
        samples.add(`ratio_${processes}`, result.perSecond / ceiling);
        samples.add(`over_floor_${processes}`, result.perSecond / floor);
        samples.add(`loaded_start_p50_${processes}`, percentile(result.firstStartMs, 50));
        if (PLACEMENT) {
          const on = await runTroupeLoad(nc, { jobs: placed, windowTasks: WINDOW_TASKS });
          samples.add(`placed_${processes}`, on.perSecond);
          samples.add(`placed_ratio_${processes}`, on.perSecond / result.perSecond);
        }
        if (processes === 1) {
          const idle: number[] = [];
          for (let i = 0; i < LATENCY_JOBS; i++) {
            const one = await runTroupeLoad(nc, {
              jobs: [tinySpec(LATENCY_TASKS)],
              windowTasks: LATENCY_TASKS,
            });
            idle.push(...one.firstStartMs);
          }
          samples.add("start_p50", percentile(idle, 50));
          samples.add("start_p99", percentile(idle, 99));
        }
        process.stdout.write(`  ${processes} process(es), run ${run + 1}/${RUNS} done\n`);
      }
    } finally {
      await nc.close();
      await cluster.stop();
    }
  }
  await pool.close({ force: true });

  const ceiling = samples.get("ceiling");
  const e2e1 = samples.get("e2e_1");
  const e2e3 = samples.get("e2e_3");
  printTable(
    "Throughput (median (min–max) of runs)",
    ["measure", "tasks/s", "% of ceiling", "% of floor"],
    [
      ["bare JetStream publish → consume → ack", fmtFigure(ceiling, 0), "100", ""],
      [
        "bare durable floor: queue → bare pool → KV result",
        fmtFigure(samples.get("floor"), 0),
        percent(samples.get("floor_ratio")),
        "100",
      ],
      [
        "Troupe end to end, 1 process",
        fmtFigure(e2e1, 0),
        percent(samples.get("ratio_1")),
        percent(samples.get("over_floor_1")),
      ],
      [
        "Troupe end to end, 3 processes",
        fmtFigure(e2e3, 0),
        percent(samples.get("ratio_3")),
        percent(samples.get("over_floor_3")),
      ],
    ],
  );
  const p50 = samples.get("start_p50");
  const p99 = samples.get("start_p99");
  printTable(
    "Submit → first task RUNNING (ms)",
    ["measure", "ms"],
    [
      [`p50, one job at a time (${LATENCY_JOBS} jobs a run, 1 process)`, fmtFigure(p50)],
      [`p99, one job at a time (${LATENCY_JOBS} jobs a run, 1 process)`, fmtFigure(p99)],
      ["p50 under load, 1 process", fmtFigure(samples.get("loaded_start_p50_1"))],
      ["p50 under load, 3 processes", fmtFigure(samples.get("loaded_start_p50_3"))],
    ],
  );
  if (PLACEMENT) {
    printTable(
      "Placement by resources: every job with resources vs none (median (min–max) of runs)",
      ["processes", "off tasks/s", "on tasks/s", "on / off %"],
      PROCESS_COUNTS.map((n) => [
        String(n),
        fmtFigure(samples.get(`e2e_${n}`), 0),
        fmtFigure(samples.get(`placed_${n}`), 0),
        percent(samples.get(`placed_ratio_${n}`)),
      ]),
    );
    const worst = Math.min(...PROCESS_COUNTS.map((n) => samples.get(`placed_ratio_${n}`).median));
    console.log(
      `Target: placement on within 10 % of off — ${(100 * worst).toFixed(1)} %: ${worst >= 0.9 ? "met" : "MISSED"}`,
    );
  }
  const ratio = Math.max(samples.get("ratio_1").median, samples.get("ratio_3").median);
  const floorRatio = samples.get("floor_ratio").median;
  console.log(
    `\nTarget: end to end ≥ 1.0× the bare ceiling — ${ratio.toFixed(2)}×: ${ratio >= 1 ? "met" : "MISSED"} (the bare durable floor, no runtime logic at all: ${(100 * floorRatio).toFixed(1)} %)`,
  );
  console.log(`load average during runs: ${Math.min(...loads)}–${Math.max(...loads)}`);
  printResult({
    bench: "pipeline",
    date: host.date,
    machine: `${host.cpu} x ${host.cores}`,
    runs: RUNS,
    load1_min: Math.min(...loads),
    load1_max: Math.max(...loads),
    e2e_tasks_per_s_1proc: Math.round(e2e1.median),
    e2e_tasks_per_s_1proc_min: Math.round(e2e1.min),
    e2e_tasks_per_s_1proc_max: Math.round(e2e1.max),
    e2e_tasks_per_s_3proc: Math.round(e2e3.median),
    e2e_tasks_per_s_3proc_min: Math.round(e2e3.min),
    e2e_tasks_per_s_3proc_max: Math.round(e2e3.max),
    jetstream_ceiling_per_s: Math.round(ceiling.median),
    jetstream_ceiling_per_s_min: Math.round(ceiling.min),
    jetstream_ceiling_per_s_max: Math.round(ceiling.max),
    durable_floor_per_s: Math.round(samples.get("floor").median),
    durable_floor_over_ceiling: rounded(floorRatio, 3),
    e2e_over_floor_1proc: rounded(samples.get("over_floor_1").median, 3),
    e2e_over_floor_3proc: rounded(samples.get("over_floor_3").median, 3),
    e2e_over_ceiling_1proc: rounded(samples.get("ratio_1").median, 3),
    e2e_over_ceiling_3proc: rounded(samples.get("ratio_3").median, 3),
    submit_to_start_p50_ms: rounded(p50.median),
    submit_to_start_p99_ms: rounded(p99.median),
    submit_to_start_p99_ms_max: rounded(p99.max),
    target_met: ratio >= 1,
    ...(PLACEMENT && {
      placed_tasks_per_s_1proc: Math.round(samples.get("placed_1").median),
      placed_tasks_per_s_3proc: Math.round(samples.get("placed_3").median),
      placed_over_unplaced_1proc: rounded(samples.get("placed_ratio_1").median, 3),
      placed_over_unplaced_3proc: rounded(samples.get("placed_ratio_3").median, 3),
    }),
  });
});

/** `median (min–max)` of per-run ratios, in percent. */
function percent(f: { median: number; min: number; max: number }): string {
  return fmtFigure({ median: 100 * f.median, min: 100 * f.min, max: 100 * f.max }, 1);
}
