/**
 * Analytics bench (issue 19): `GET /api/v1/analytics` over 100,000 ended jobs in the window.
 * Writes 100,000 job summaries to the history stream of a private nats-server, then per run: a
 * fresh process's read of the whole history (what a restart costs, the first report waits for
 * it) beside the raw read of the same stream with no decoding (an ordered consumer to its end);
 * and a report over all of them beside a bare pass over the same objects summing one field.
 * Run: `npx tsx bench/analytics.ts` (BENCH_RUNS=n, BENCH_JOBS=n).
 * Target: a report well under a second for 100,000 jobs.
 */

import { connect } from "@nats-io/transport-node";
import { pack } from "msgpackr";
import { analyze } from "../src/analytics/analytics.ts";
import { JobHistory } from "../src/analytics/job-history.ts";
import type { JobSummary } from "../src/analytics/job-summary.ts";
import { systemClock } from "../src/clock.ts";
import { natsHistory } from "../src/transport/nats-history.ts";
import { ensureTopology } from "../src/transport/streams.ts";
import { names as namesFor } from "../src/transport/subjects.ts";
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

const RUNS = benchRuns();
const JOBS = Number(process.env.BENCH_JOBS ?? 100_000);
const IN_FLIGHT = 1_000;
const HOUR = 3_600_000;
const MODELS = ["logistic_regression", "neural_network", "random_forest", "xgboost"];
const ERRORS = ["worker crashed: out of memory", "training diverged", "task exceeded TASK_TIMEOUT"];

await runBench(async () => {
  const host = machine();
  console.log(
    `analytics bench — ${host.date}, ${host.cpu} × ${host.cores}, Node ${host.node}, load ${host.load1}`,
  );
  console.log(`${RUNS} runs; ${JOBS.toLocaleString("en-US")} ended jobs in a 24 h window`);
  const cluster = await startCluster(0);
  const nc = await connect({ servers: cluster.natsUrl });
  const names = namesFor("troupe");
  const topology = await ensureTopology(nc, names, {
    replicas: 1,
    leaseMs: 1_000,
    jobLeaseMs: 3_000,
  });
  const history = natsHistory(nc, names, topology);
  const now = Date.now();
  const summaries = Array.from({ length: JOBS }, (_, i) => summaryAt(i, now));
  const writeStart = performance.now();
  for (let i = 0; i < JOBS; i += IN_FLIGHT) {
    await Promise.all(
      summaries.slice(i, i + IN_FLIGHT).map((s) => history.append(s.job_id, pack(s))),
    );
  }
  const writeMs = performance.now() - writeStart;
  const samples = new Samples();
  const loads: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    loads.push(load1());
    // A process starting: reads the history, then answers.
    const fresh = new JobHistory(history, systemClock, 168 * HOUR);
    let started = performance.now();
    const first = await fresh.report({ window: "24h" });
    samples.add("load_ms", performance.now() - started);
    if (first.total_jobs !== JOBS) throw new Error(`read ${first.total_jobs} of ${JOBS} jobs`);
    started = performance.now();
    await rawRead(history);
    samples.add("raw_read_ms", performance.now() - started);
    started = performance.now();
    await fresh.report({ window: "24h" });
    samples.add("report_ms", performance.now() - started);
    started = performance.now();
    analyze(summaries, { label: "24h", ms: 24 * HOUR, nowMs: Date.now() });
    samples.add("analyze_ms", performance.now() - started);
    started = performance.now();
    let sum = 0;
    for (const s of summaries) sum += s.task_seconds;
    samples.add("bare_pass_ms", performance.now() - started);
    if (sum < 0) throw new Error("unreachable");
    fresh.close();
    process.stdout.write(`  run ${run + 1}/${RUNS} done\n`);
  }
  await nc.close();
  await cluster.stop();

  printTable(
    `Analytics over ${JOBS.toLocaleString("en-US")} jobs (ms, median (min–max) of runs)`,
    ["measure", "ms"],
    [
      [
        "a process's first report: reads the history, then answers",
        fmtFigure(samples.get("load_ms")),
      ],
      ["raw: the same stream read to its end, no decoding", fmtFigure(samples.get("raw_read_ms"))],
      ["report from memory (GET /api/v1/analytics's work)", fmtFigure(samples.get("report_ms"))],
      ["  of which the aggregation alone", fmtFigure(samples.get("analyze_ms"))],
      ["bare: one pass summing one field", fmtFigure(samples.get("bare_pass_ms"), 2)],
    ],
  );
  console.log(`\nwrote ${JOBS.toLocaleString("en-US")} summaries in ${Math.round(writeMs)} ms`);
  const report = samples.get("report_ms").median;
  console.log(
    `Target: a report well under a second — ${report.toFixed(1)} ms: ${report < 1000 ? "met" : "MISSED"}`,
  );
  console.log(`load average during runs: ${Math.min(...loads)}–${Math.max(...loads)}`);
  printResult({
    bench: "analytics",
    date: host.date,
    machine: `${host.cpu} x ${host.cores}`,
    runs: RUNS,
    jobs: JOBS,
    load1_min: Math.min(...loads),
    load1_max: Math.max(...loads),
    report_ms: rounded(report),
    report_ms_max: rounded(samples.get("report_ms").max),
    analyze_ms: rounded(samples.get("analyze_ms").median),
    bare_pass_ms: rounded(samples.get("bare_pass_ms").median, 2),
    restart_read_ms: Math.round(samples.get("load_ms").median),
    raw_read_ms: Math.round(samples.get("raw_read_ms").median),
    write_ms: Math.round(writeMs),
    target_met: report < 1000,
  });
});

function summaryAt(i: number, now: number): JobSummary {
  const failed = i % 10 === 0;
  const finished = now - (i % 1_000) * 60_000;
  return {
    job_id: `job_${i.toString(36).padStart(19, "0")}`,
    model_type: MODELS[i % MODELS.length] as string,
    user_id: `user${i % 50}`,
    service: MODELS[i % MODELS.length] as string,
    priority: "normal",
    status: failed ? "FAILED" : "COMPLETED",
    created_ms: finished - 120_000,
    started_ms: finished - 100_000,
    finished_ms: finished,
    total_tasks: 4,
    retries: i % 7 === 0 ? 1 : 0,
    task_seconds: 60,
    cpu_cores: 1,
    error: failed ? `task 0 failed after 3 attempt(s): ${ERRORS[i % ERRORS.length]}` : null,
  };
}

/** The history stream read to its end by an ordered consumer, each message dropped unread. */
function rawRead(history: ReturnType<typeof natsHistory>): Promise<void> {
  return new Promise((resolve) => {
    const stop = history.follow(
      () => undefined,
      () => {
        stop();
        resolve();
      },
    );
  });
}
