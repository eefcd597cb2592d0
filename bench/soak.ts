/**
 * Soak: steady job submissions to a local cluster (a nats-server and two `troupe` processes,
 * loopback only) for a set time, watching the processes' memory from their /metrics (heap used,
 * RSS) and the cluster's throughput (tasks completed per second, per minute). Prints a table and
 * ends with `RESULT {json}`; heap growth is that of the heap kept after a major GC (each process's
 * `troupe_heap_used_after_major_gc_bytes`), from the first value after warm-up to the last.
 *
 * Run: `npx tsx bench/soak.ts` (10 minutes), `npx tsx bench/soak.ts --ci` (60 s), or
 * `--duration 5m`.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { parseDuration } from "../src/duration.ts";
import { names as namesFor } from "../src/transport/subjects.ts";
import { Cluster, quantile } from "./support/cluster.ts";

export interface SoakOptions {
  durationMs: number;
  /** Samples taken during this first part are warm-up, not compared. */
  warmupMs: number;
  /** Memory sampled this often. */
  sampleEveryMs: number;
  /** Jobs submitted per second, steadily. */
  jobsPerSecond: number;
  processes: number;
  slots: number;
  onChild?(pid: number, what: string): void;
}

export const SOAK_10_MIN: Readonly<SoakOptions> = Object.freeze({
  durationMs: 600_000,
  warmupMs: 120_000,
  sampleEveryMs: 15_000,
  jobsPerSecond: 3,
  processes: 2,
  slots: 2,
});

export const SOAK_CI: Readonly<SoakOptions> = Object.freeze({
  ...SOAK_10_MIN,
  durationMs: 60_000,
  warmupMs: 20_000,
  sampleEveryMs: 5_000,
});

/** A quick job: four small logistic-regression tasks of a few milliseconds each. */
const SPEC = {
  model_type: "logistic_regression",
  dataset: { samples: 2_000, features: 16, seed: 11 },
  epochs: 5,
  tasks: 4,
};
/** After the submissions stop, how long the backlog may take to clear. */
const SETTLE_MS = 120_000;

interface Sample {
  atS: number;
  heapMb: number[];
  /** Heap in use right after each process's last major GC (0 before its first). */
  heapAfterGcMb: number[];
  rssMb: number[];
  backlog: number;
}

export interface SoakResult {
  duration_s: number;
  jobs_submitted: number;
  jobs_ended: number;
  tasks_completed: number;
  tasks_per_s_by_minute: number[];
  /**
   * Growth of the heap kept after a major GC (what a leak makes grow), from the first value after
   * warm-up to the last; worst process. The target's measure.
   */
  heap_after_gc_growth_pct: number;
  heap_after_gc_mb_first: number[];
  heap_after_gc_mb_last: number[];
  /** Growth of the mean heap used, first half after warm-up → second half; worst process. */
  heap_growth_pct: number;
  /** The same for the heap's floor (minimum: what survives GC). */
  heap_floor_growth_pct: number;
  rss_growth_pct: number;
  heap_mb_after_warmup: number[];
  heap_mb_at_end: number[];
  samples: Sample[];
}

const names = namesFor("troupe");
const decoder = new TextDecoder();
const TERMINAL = new Set(["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"]);

export async function runSoak(
  o: SoakOptions,
  log: (line: string) => void = () => undefined,
): Promise<SoakResult> {
  const cluster = await Cluster.start({
    processes: o.processes,
    env: { MAX_CONCURRENT_TASKS: String(o.slots) },
    ...(o.onChild ? { onChild: o.onChild } : {}),
  });
  const nc = await connect({ servers: cluster.natsUrl, maxReconnectAttempts: -1 });
  try {
    const started = Date.now();
    const completions: number[] = [];
    const ended = new Set<string>();
    nc.subscribe(`${names.prefix}.events.task.>`, {
      callback: (_error, msg) => {
        const event = JSON.parse(decoder.decode(msg.data)) as { status: string; epoch?: number };
        if (event.epoch === undefined && event.status === "COMPLETED") {
          completions.push(Date.now() - started);
        }
      },
    });
    nc.subscribe(names.events.allJobs, {
      callback: (_error, msg) => {
        const event = JSON.parse(decoder.decode(msg.data)) as { job_id: string; status: string };
        if (TERMINAL.has(event.status)) ended.add(event.job_id);
      },
    });

    let submitted = 0;
    const samples: Sample[] = [];
    const submitter = setInterval(() => {
      submitted += 1;
      void submit(nc).catch((error) => log(`submit failed: ${error}`));
    }, 1000 / o.jobsPerSecond);
    const sampler = setInterval(() => {
      void sample(cluster).then(({ heapMb, heapAfterGcMb, rssMb }) => {
        const entry = {
          atS: Math.round((Date.now() - started) / 1000),
          heapMb,
          heapAfterGcMb,
          rssMb,
          backlog: submitted - ended.size,
        };
        samples.push(entry);
        log(formatSample(entry));
      });
    }, o.sampleEveryMs);
    await sleep(o.durationMs);
    clearInterval(submitter);
    clearInterval(sampler);
    const deadline = Date.now() + SETTLE_MS;
    while (ended.size < submitted && Date.now() < deadline) await sleep(500);

    const minutes = Math.ceil(o.durationMs / 60_000);
    const perMinute = Array.from({ length: minutes }, (_, m) => {
      const from = m * 60_000;
      const to = Math.min(o.durationMs, from + 60_000);
      const count = completions.filter((t) => t >= from && t < to).length;
      return round1(count / ((to - from) / 1000));
    });
    // The heap is a GC sawtooth (±30 % between samples): compare the means of the first and the
    // second half of the samples after warm-up, and their floors (the post-GC minimum).
    const settled = samples.filter((s) => s.atS * 1000 >= o.warmupMs);
    const half = Math.floor(settled.length / 2);
    const early = settled.slice(0, half);
    const late = settled.slice(half);
    const meanOf = (rows: Sample[], pick: (s: Sample) => number[], p: number) =>
      round1(rows.reduce((sum, s) => sum + (pick(s)[p] ?? 0), 0) / Math.max(1, rows.length));
    const floorOf = (rows: Sample[], pick: (s: Sample) => number[], p: number) =>
      quantile(
        rows.map((s) => pick(s)[p] ?? 0),
        0,
      );
    const growth = (
      pick: (s: Sample) => number[],
      of: (rows: Sample[], pick: (s: Sample) => number[], p: number) => number,
    ) =>
      Math.max(
        ...cluster.members.map((_, p) => {
          const before = of(early, pick, p);
          return before > 0 ? round1(((of(late, pick, p) - before) / before) * 100) : 0;
        }),
      );
    const afterGc = cluster.members.map((_, p) =>
      settled.map((s) => s.heapAfterGcMb[p] ?? 0).filter((mb) => mb > 0),
    );
    const firstAfterGc = afterGc.map((values) => values[0] ?? 0);
    const lastAfterGc = afterGc.map((values) => values[values.length - 1] ?? 0);
    return {
      duration_s: Math.round(o.durationMs / 1000),
      heap_after_gc_growth_pct: Math.max(
        ...firstAfterGc.map((first, p) =>
          first > 0 ? round1((((lastAfterGc[p] as number) - first) / first) * 100) : 0,
        ),
      ),
      heap_after_gc_mb_first: firstAfterGc,
      heap_after_gc_mb_last: lastAfterGc,
      jobs_submitted: submitted,
      jobs_ended: ended.size,
      tasks_completed: completions.length,
      tasks_per_s_by_minute: perMinute,
      heap_growth_pct: growth((s) => s.heapMb, meanOf),
      heap_floor_growth_pct: growth((s) => s.heapMb, floorOf),
      rss_growth_pct: growth((s) => s.rssMb, meanOf),
      heap_mb_after_warmup: cluster.members.map((_, p) => meanOf(early, (s) => s.heapMb, p)),
      heap_mb_at_end: cluster.members.map((_, p) => meanOf(late, (s) => s.heapMb, p)),
      samples,
    };
  } finally {
    await nc.close().catch(() => undefined);
    await cluster.close();
  }
}

async function submit(nc: NatsConnection): Promise<void> {
  const reply = await nc.request(names.api.submit, JSON.stringify(SPEC), { timeout: 10_000 });
  const body = JSON.parse(decoder.decode(reply.data)) as { job_id?: string };
  if (!body.job_id) throw new Error(`submit refused: ${decoder.decode(reply.data)}`);
}

/** Heap used and RSS of every process, in MB, from its Prometheus /metrics (loopback). */
async function sample(
  cluster: Cluster,
): Promise<{ heapMb: number[]; heapAfterGcMb: number[]; rssMb: number[] }> {
  const heapMb: number[] = [];
  const heapAfterGcMb: number[] = [];
  const rssMb: number[] = [];
  for (const member of cluster.members) {
    const port = member.httpUrl ? new URL(member.httpUrl).port : "";
    const text = await fetch(`http://127.0.0.1:${port}/metrics`)
      .then((r) => r.text())
      .catch(() => "");
    heapMb.push(round1(metric(text, "nodejs_heap_size_used_bytes") / 2 ** 20));
    heapAfterGcMb.push(round1(metric(text, "troupe_heap_used_after_major_gc_bytes") / 2 ** 20));
    rssMb.push(round1(metric(text, "process_resident_memory_bytes") / 2 ** 20));
  }
  return { heapMb, heapAfterGcMb, rssMb };
}

function metric(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1).split(" ")[0]) : 0;
}

function formatSample(s: Sample): string {
  return `${String(s.atS).padStart(5)} s  heap ${s.heapMb.map((m) => m.toFixed(1).padStart(6)).join(" ")} MB  after major GC ${s.heapAfterGcMb.map((m) => m.toFixed(1).padStart(6)).join(" ")} MB  rss ${s.rssMb.map((m) => m.toFixed(1).padStart(6)).join(" ")} MB  backlog ${s.backlog}`;
}

export function soakTable(r: SoakResult): string {
  const lines = [
    "    t    heap used, heap after the last major GC, RSS (MB, per process); backlog (jobs)",
    ...r.samples.map(formatSample),
    "",
    `tasks/s by minute: ${r.tasks_per_s_by_minute.join(", ")}`,
    `jobs: ${r.jobs_submitted} submitted, ${r.jobs_ended} ended; tasks completed: ${r.tasks_completed}`,
    `heap after a major GC, first after warm-up ${r.heap_after_gc_mb_first.join(" / ")} MB → last ${r.heap_after_gc_mb_last.join(" / ")} MB: growth ${r.heap_after_gc_growth_pct} % (worst process; target < 10 %)`,
    `mean heap used (a GC sawtooth), first half after warm-up ${r.heap_mb_after_warmup.join(" / ")} MB → second half ${r.heap_mb_at_end.join(" / ")} MB: ${r.heap_growth_pct} %; its floor: ${r.heap_floor_growth_pct} %; mean RSS: ${r.rss_growth_pct} %`,
  ];
  return lines.join("\n");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const at = process.argv.indexOf("--duration");
  const durationMs = at > 0 ? parseDuration(process.argv[at + 1] ?? "") : undefined;
  const base = process.argv.includes("--ci") ? SOAK_CI : SOAK_10_MIN;
  const options = durationMs ? { ...base, durationMs } : base;
  const result = await runSoak(options, (line) => console.error(line));
  console.log(soakTable(result));
  const { samples: _samples, ...summary } = result;
  console.log(`RESULT ${JSON.stringify(summary)}`);
}
