/**
 * Drives a Troupe cluster the way a user does — job specs submitted over `troupe.jobs.submit` — and
 * watches what a user can watch: each task's outcome appearing in the results bucket (a core
 * subscription on `$KV.troupe_results.>`: one record per chunk attempt, listing its tasks'
 * outcomes) and task 0's RUNNING event (on its task subject, or its chunk's). No Troupe internals
 * are used.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { unpack } from "msgpackr";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const SUBMIT_TIMEOUT_MS = 30_000;
/** A run that stops making progress for this long has failed (lost tasks, a dead process). */
const STALL_MS = 60_000;

/** The tiniest real task Troupe has: logistic regression, one epoch, a shard of ~10 rows. */
export function tinySpec(tasks: number): Record<string, unknown> {
  // Every task must get ≥ 10 training rows; a fifth of the samples is the held-out split.
  const samples = Math.max(50, Math.ceil((tasks * 10) / 0.8) + tasks);
  return {
    model_type: "logistic_regression",
    dataset: { samples, features: 2, classes: 2, seed: 1 },
    epochs: 1,
    tasks,
  };
}

export interface TroupeLoad {
  /** Job specs to submit, in order (each gets a unique name). */
  jobs: readonly Record<string, unknown>[];
  /** At most this many tasks submitted and not yet recorded (the next job waits for room). */
  windowTasks: number;
}

export interface TroupeLoadResult {
  tasks: number;
  seconds: number;
  perSecond: number;
  /** Per task: ms from its job's submit request to its result appearing in the results bucket. */
  completionMs: number[];
  /** Per job: ms from its submit request to task 0's first RUNNING event. */
  firstStartMs: number[];
}

/** A client connection for driving Troupe; `close()` when done. */
export async function troupeClient(url: string): Promise<NatsConnection> {
  return connect({ servers: url, noAsyncTraces: true });
}

/** Submits `load.jobs` within the window and resolves once every task's result is recorded. */
export async function runTroupeLoad(
  nc: NatsConnection,
  load: TroupeLoad,
  prefix = "troupe",
): Promise<TroupeLoadResult> {
  const total = load.jobs.reduce((sum, job) => sum + Number(job.tasks ?? 4), 0);
  const submittedAt = new Map<string, number>();
  const tasksOf = new Map<string, number>();
  const early: { jobId: string; at: number; tasks: number }[] = [];
  const earlyStarts: { jobId: string; at: number }[] = [];
  const completionMs: number[] = [];
  const firstStartMs: number[] = [];
  const started = new Set<string>();
  const seen = new Set<string>();
  let recorded = 0;
  let outstanding = 0;
  let lastProgress = performance.now();
  let wake: (() => void) | undefined;

  const onRecorded = (jobId: string, at: number, tasks = 1) => {
    const sent = submittedAt.get(jobId);
    if (sent === undefined) {
      early.push({ jobId, at, tasks });
      return;
    }
    for (let i = 0; i < tasks; i++) completionMs.push(at - sent);
    recorded += tasks;
    outstanding -= tasks;
    lastProgress = at;
    wake?.();
  };
  const onStarted = (jobId: string, at: number) => {
    if (started.has(jobId)) return;
    const sent = submittedAt.get(jobId);
    if (sent === undefined) {
      earlyStarts.push({ jobId, at });
      return;
    }
    started.add(jobId);
    firstStartMs.push(at - sent);
  };

  const bucket = `$KV.${prefix.replace(/[.-]/g, "_").toLowerCase()}_results.>`;
  const results = nc.subscribe(bucket, {
    callback: (_error, msg) => {
      // $KV.<bucket>.<job_id>.<chunk>.<generation>
      if (msg.headers?.get("KV-Operation")) return; // a delete or purge, not a result
      // A duplicate run's create is refused by the stream but still seen here: count a key once.
      if (seen.has(msg.subject)) return;
      seen.add(msg.subject);
      const tokens = msg.subject.split(".");
      const { outcomes } = unpack(msg.data) as { outcomes: Record<string, unknown> };
      const tasks = Object.keys(outcomes).length;
      if (tasks > 0) onRecorded(tokens[2] as string, performance.now(), tasks);
    },
  });
  const onStart = (_error: Error | null, msg: { data: Uint8Array }) => {
    const event = JSON.parse(decoder.decode(msg.data)) as {
      job_id: string;
      status?: string;
      tasks?: { task_index: number; status: string; epoch?: number }[];
    };
    const running = event.tasks
      ? event.tasks.some((t) => t.task_index === 0 && t.status === "RUNNING" && !t.epoch)
      : event.status === "RUNNING";
    if (running) onStarted(event.job_id, performance.now());
  };
  const starts = [`${prefix}.events.task.*.0`, `${prefix}.events.chunk.*.0`].map((subject) =>
    nc.subscribe(subject, { callback: onStart }),
  );
  await nc.flush();

  const began = performance.now();
  try {
    let index = 0;
    for (const spec of load.jobs) {
      const tasks = Number(spec.tasks ?? 4);
      while (outstanding > 0 && outstanding + tasks > load.windowTasks) {
        await waitForProgress();
      }
      outstanding += tasks;
      const sent = performance.now();
      const reply = await nc.request(
        `${prefix}.jobs.submit`,
        encoder.encode(JSON.stringify({ ...spec, name: `bench-${process.pid}-${index++}` })),
        { timeout: SUBMIT_TIMEOUT_MS },
      );
      const body = JSON.parse(decoder.decode(reply.data)) as {
        job_id?: string;
        error?: { message: string };
      };
      if (!body.job_id) throw new Error(`submit failed: ${JSON.stringify(body.error ?? body)}`);
      submittedAt.set(body.job_id, sent);
      tasksOf.set(body.job_id, tasks);
      for (const e of early.splice(0).filter((e) => e.jobId === body.job_id)) {
        onRecorded(e.jobId, e.at, e.tasks);
      }
      for (const e of earlyStarts.splice(0)) onStarted(e.jobId, e.at);
    }
    while (recorded < total) await waitForProgress();
  } finally {
    results.unsubscribe();
    for (const sub of starts) sub.unsubscribe();
  }
  const seconds = (performance.now() - began) / 1000;
  return { tasks: total, seconds, perSecond: total / seconds, completionMs, firstStartMs };

  function waitForProgress(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        wake = undefined;
        if (performance.now() - lastProgress >= STALL_MS) {
          reject(new Error(`Troupe stalled: ${recorded} of ${total} tasks recorded`));
        } else resolve();
      }, STALL_MS);
      wake = () => {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
    });
  }
}

/**
 * Submits `count` one-job-at-a-time jobs on an otherwise idle cluster and returns, per job, ms from
 * the submit request to task 0's first RUNNING event (waiting for each job to finish before the next).
 */
export async function submitToStartMs(
  nc: NatsConnection,
  spec: Record<string, unknown>,
  count: number,
  prefix = "troupe",
): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const result = await runTroupeLoad(nc, { jobs: [spec], windowTasks: 1 }, prefix);
    const first = result.firstStartMs[0];
    if (first !== undefined) samples.push(first);
  }
  return samples;
}
