/**
 * Training pool bench: per model, samples/s on one thread, the speed-up of two threads over one,
 * and abort latency; plus the pool's overhead per tiny task. Beside Troupe's pool, the raw limit
 * in the same run: a bare piscina pool (no progress port, no checkpoints, no abort flags) running
 * the same training code on the same workload, 1 and 2 threads, runs interleaved. Every figure is
 * the median of ≥ 5 runs, with min and max. Run: `npx tsx bench/training.ts` (on an idle machine).
 */
import { loadavg } from "node:os";
import type { Piscina } from "piscina";
import { createTrainingPool, type TrainingPool } from "../src/training/pool.ts";
import type { TaskInput } from "../src/training/types.ts";
import { barePool } from "./lib/bare-pool.ts";
import { type Figure, figure } from "./lib/stats.ts";

const RUNS = 5;
const MODELS = ["logistic_regression", "neural_network", "random_forest", "xgboost"] as const;
type Model = (typeof MODELS)[number];

/** A workload of a few hundred milliseconds a task on one core. */
function workload(model_type: Model, task_index: number, tasks: number): TaskInput {
  const dataset = { samples: 20_000, features: 20, classes: 2, seed: 1 };
  switch (model_type) {
    case "logistic_regression":
      return { model_type, dataset, tasks, task_index, epochs: 40 };
    case "neural_network":
      return { model_type, dataset, tasks, task_index, epochs: 4 };
    case "random_forest":
      return { model_type, dataset, tasks, task_index, hyperparameters: { n_trees: 40 } };
    case "xgboost":
      return { model_type, dataset, tasks, task_index, hyperparameters: { n_trees: 60 } };
  }
}

/**
 * Each measurement runs a job of four equal shards (4 000 rows each) four times over: 16 tasks of
 * a few tens of milliseconds, long enough that one scheduling hiccup does not decide a run.
 */
const SHARDS = Array.from({ length: 16 }, (_, i) => i % 4);

/** Wall time of the same 16 tasks on a bare piscina pool: the raw limit. */
async function bareJobMs(pool: Piscina, model: Model): Promise<number> {
  const start = performance.now();
  await Promise.all(SHARDS.map((k) => pool.run({ kind: "train", input: workload(model, k, 4) })));
  return performance.now() - start;
}

/** Cores the process used (CPU time over wall time) during the last `jobMs`. */
let lastCoresUsed = 0;

/** Wall time of the 16 tasks on `pool`. */
async function jobMs(pool: TrainingPool, model: Model): Promise<number> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await Promise.all(SHARDS.map((k) => pool.run(workload(model, k, 4))));
  const wall = performance.now() - start;
  const used = process.cpuUsage(cpu);
  lastCoresUsed = (used.user + used.system) / 1000 / wall;
  return wall;
}

async function samplesPerSecond(pool: TrainingPool, model: Model): Promise<Figure> {
  const values: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    values.push((await pool.run(workload(model, 0, 1))).metrics.samples_per_s);
  }
  return figure(values);
}

async function abortLatencyMs(pool: TrainingPool, model: Model): Promise<Figure> {
  const long: TaskInput = {
    ...workload(model, 0, 1),
    dataset: { samples: 100_000, features: 20, classes: 2, seed: 3 },
    epochs: 1000,
    hyperparameters:
      model === "random_forest" || model === "xgboost" ? { n_trees: 500, max_depth: 12 } : {},
  };
  const values: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const controller = new AbortController();
    let training!: () => void;
    const started = new Promise<void>((resolve) => {
      training = resolve;
    });
    const run = pool.run(long, { signal: controller.signal, onProgress: () => training() });
    run.catch(() => {});
    await started;
    const t0 = performance.now();
    controller.abort();
    await run.catch(() => {});
    values.push(performance.now() - t0);
  }
  return figure(values);
}

async function overheadUs(pool: TrainingPool): Promise<Figure> {
  const batch = 2000;
  const values: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    for (let j = 0; j < batch; j++) await pool.noop();
    values.push(((performance.now() - t0) * 1000) / batch);
  }
  return figure(values);
}

const fmt = (s: Figure, digits = 0) =>
  `${s.median.toFixed(digits)} [${s.min.toFixed(digits)}–${s.max.toFixed(digits)}]`;

async function main(): Promise<void> {
  await using one = createTrainingPool({ threads: 1 });
  await using two = createTrainingPool({ threads: 2 });
  const bare1 = barePool(1);
  const bare2 = barePool(2);
  // Warm every pool: threads loaded, every model's code JIT-compiled in every thread.
  for (const model of MODELS) {
    await jobMs(one, model);
    await jobMs(two, model);
    await bareJobMs(bare1, model);
    await bareJobMs(bare2, model);
  }
  const rows: Record<
    Model,
    { sps: Figure; speedup: Figure; bare: Figure; abort: Figure; cores: Figure }
  > = {} as never;
  const totals1: number[] = Array(RUNS).fill(0);
  const totals2: number[] = Array(RUNS).fill(0);
  const bareTotals1: number[] = Array(RUNS).fill(0);
  const bareTotals2: number[] = Array(RUNS).fill(0);
  for (const model of MODELS) {
    const ratios: number[] = [];
    const bareRatios: number[] = [];
    const cores: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t1 = await jobMs(one, model);
      const t2 = await jobMs(two, model);
      cores.push(lastCoresUsed);
      const b1 = await bareJobMs(bare1, model);
      const b2 = await bareJobMs(bare2, model);
      totals1[i] = (totals1[i] as number) + t1;
      totals2[i] = (totals2[i] as number) + t2;
      bareTotals1[i] = (bareTotals1[i] as number) + b1;
      bareTotals2[i] = (bareTotals2[i] as number) + b2;
      ratios.push(t1 / t2);
      bareRatios.push(b1 / b2);
    }
    rows[model] = {
      sps: await samplesPerSecond(one, model),
      speedup: figure(ratios),
      bare: figure(bareRatios),
      cores: figure(cores),
      abort: await abortLatencyMs(one, model),
    };
  }
  await Promise.all([bare1.destroy(), bare2.destroy()]);
  const speedup = figure(totals1.map((t1, i) => t1 / (totals2[i] as number)));
  const bareSpeedup = figure(bareTotals1.map((b1, i) => b1 / (bareTotals2[i] as number)));
  const overheadFigure = await overheadUs(one);
  const abortAll = figure(MODELS.map((m) => rows[m].abort.median));

  console.log("\nTroupe training pool — median [min–max] of 5 runs\n");
  console.log(
    `${"model".padEnd(20)} ${"samples/s, 1 thread".padEnd(28)} ${"speed-up 2/1 threads".padEnd(22)} ${"bare piscina 2/1".padEnd(20)} ${"cores used, 2 thr.".padEnd(20)} abort latency ms`,
  );
  for (const model of MODELS) {
    const r = rows[model];
    console.log(
      `${model.padEnd(20)} ${fmt(r.sps).padEnd(28)} ${fmt(r.speedup, 2).padEnd(22)} ${fmt(r.bare, 2).padEnd(20)} ${fmt(r.cores, 2).padEnd(20)} ${fmt(r.abort, 1)}`,
    );
  }
  console.log(`\nspeed-up of 2 threads over 1, all models: ${fmt(speedup, 2)} (target ≥ 1.85)`);
  console.log(
    `the same on a bare piscina pool (the raw limit here, same run): ${fmt(bareSpeedup, 2)}`,
  );
  console.log(
    `cores the process got while running 2 threads (CPU time / wall time; 2.0 = both cores): ${fmt(figure(MODELS.map((m) => rows[m].cores.median)), 2)}`,
  );
  console.log(
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  console.log(
    `pool overhead per tiny task (sequential no-op round trip): ${fmt(overheadFigure, 1)} µs`,
  );

  const result = {
    speedup_2_threads: round(speedup.median, 3),
    speedup_2_threads_min: round(speedup.min, 3),
    speedup_2_threads_max: round(speedup.max, 3),
    speedup_2_threads_by_model: Object.fromEntries(
      MODELS.map((m) => [m, round(rows[m].speedup.median, 3)]),
    ),
    bare_piscina_speedup_2_threads: round(bareSpeedup.median, 3),
    bare_piscina_speedup_2_threads_by_model: Object.fromEntries(
      MODELS.map((m) => [m, round(rows[m].bare.median, 3)]),
    ),
    cores_used_2_threads_by_model: Object.fromEntries(
      MODELS.map((m) => [m, round(rows[m].cores.median, 2)]),
    ),
    pool_overhead_us: round(overheadFigure.median, 1),
    abort_latency_ms: round(abortAll.max, 2),
    abort_latency_ms_by_model: Object.fromEntries(
      MODELS.map((m) => [m, round(rows[m].abort.median, 2)]),
    ),
    samples_per_s: Object.fromEntries(MODELS.map((m) => [m, Math.round(rows[m].sps.median)])),
  };
  console.log(`RESULT ${JSON.stringify(result)}`);
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}

await main();
