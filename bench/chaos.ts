/**
 * Chaos harness: proves that nothing is lost. It runs the same workload twice on a fresh local
 * cluster (a nats-server and N `troupe` processes, loopback only): once fault-free, once under a
 * bounded fault schedule — `kill -9` of a random process (then a replacement), SIGTERM of another,
 * NATS server restarts, actor and pool-thread faults at a rate (TROUPE_FAULTS). Then it waits for
 * every job to end and verifies from JetStream: every job COMPLETED, one recorded result per task,
 * no task lost. It prints a table and ends with `RESULT {json}`.
 *
 * Run: `npx tsx bench/chaos.ts` (full: 500 jobs, ≥ 30 faults) or `npx tsx bench/chaos.ts --ci`.
 * The full run's processes run the bundled build (bench/support/build.ts), as a deployment would;
 * `--tsx` runs them from the sources instead; `--heartbeat 1s` sets their HEARTBEAT_INTERVAL.
 * `test/pipeline/chaos.test.ts` calls `runChaos` with the CI-sized options.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { unpack } from "msgpackr";
import { type ChunkEvent, taskEventsOf } from "../src/contract/events.ts";
import { DURATION_FORMS, parseDuration } from "../src/duration.ts";
import { LEASE_HEARTBEATS } from "../src/pipeline.ts";
import { kvStream } from "../src/transport/kv.ts";
import { names as namesFor } from "../src/transport/subjects.ts";
import { decodeRecord } from "../src/workers/chunk-message.ts";
import { buildTroupe } from "./support/build.ts";
import { Cluster, quantile } from "./support/cluster.ts";

export interface ChaosOptions {
  /** troupe processes in the cluster. */
  processes: number;
  /** MAX_CONCURRENT_TASKS of each process. */
  slots: number;
  jobs: number;
  tasksPerJob: number;
  /** Epochs of each task (the task's length: about 10 ms an epoch here). */
  epochs: number;
  /** HEARTBEAT_INTERVAL of the processes, in ms (the lease is LEASE_HEARTBEATS of them). */
  heartbeatMs: number;
  /** DRAIN_TIMEOUT of the processes, in ms. */
  drainTimeoutMs: number;
  /** The fault schedule: this many `kill -9`s, SIGTERMs and NATS restarts… */
  kills: number;
  sigterms: number;
  natsRestarts: number;
  /** …one every `faultEveryMs`, spread evenly, starting `faultEveryMs` after the submissions. */
  faultEveryMs: number;
  /** Rate of worker-actor, job-actor and pool-thread faults (TROUPE_FAULTS), 0 for none. */
  actorFaultRate: number;
  /** Also run the workload fault-free first, for the wall-time ratio. */
  baseline: boolean;
  /** Bound on one run's wait for every job to end. */
  deadlineMs: number;
  /** Told of every child process started. */
  onChild?(pid: number, what: string): void;
  /** Progress lines (default: none). */
  log?(line: string): void;
  /** The troupe CLI the processes run with `node` (default: the sources, through tsx). */
  entry?: string;
}

export const CI_CHAOS: Readonly<ChaosOptions> = Object.freeze({
  processes: 3,
  slots: 2,
  jobs: 50,
  tasksPerJob: 4,
  epochs: 10,
  heartbeatMs: 500,
  // Short, so a SIGTERM hands running tasks back (the path under test) rather than finishing them.
  drainTimeoutMs: 100,
  kills: 5,
  sigterms: 1,
  natsRestarts: 1,
  // Paced further by the wait for replacement processes (two of three stay up).
  faultEveryMs: 1_000,
  actorFaultRate: 0.01,
  baseline: true,
  deadlineMs: 120_000,
});

export const FULL_CHAOS: Readonly<ChaosOptions> = Object.freeze({
  ...CI_CHAOS,
  jobs: 500,
  tasksPerJob: 2,
  epochs: 4,
  kills: 16,
  sigterms: 4,
  natsRestarts: 2,
  faultEveryMs: 3_000,
  deadlineMs: 900_000,
});

export interface ChaosResult {
  /** Faults injected, by kind, and their total. */
  faults: {
    total: number;
    kill9: number;
    sigterm: number;
    nats_restart: number;
    worker: number;
    job: number;
    pool: number;
  };
  jobs: number;
  jobs_completed: number;
  tasks: number;
  /** Task executions beyond one (RUNNING starts seen, minus one per task). */
  reruns: number;
  /** Results recorded more than once (results stream messages minus distinct keys). */
  duplicate_records: number;
  /** Tasks of the submitted jobs without a recorded result. */
  lost_tasks: number;
  /** `kill -9` → the killed process's task running elsewhere (lease expiry), ms. */
  requeue_p50_ms: number;
  requeue_p99_ms: number;
  requeue_samples: number;
  /** SIGTERM hand-back → the task running elsewhere, ms. */
  drain_requeue_p99_ms: number;
  drain_requeue_samples: number;
  /** Processes that stopped by themselves (exit code or signal); the harness replaced them. */
  unexpected_exits: string[];
  /** Exit codes of the SIGTERMed processes (all 0 when every drain was clean). */
  sigterm_exit_codes: (number | null)[];
  heartbeat_ms: number;
  wall_ms: number;
  baseline_wall_ms: number | null;
  wall_ratio: number | null;
}

interface RunFigures {
  wallMs: number;
  jobsCompleted: number;
  tasks: number;
  reruns: number;
  duplicateRecords: number;
  lostTasks: number;
  notCompleted: string[];
  killRequeueMs: number[];
  drainRequeueMs: number[];
  faults: ChaosResult["faults"];
  sigtermExitCodes: (number | null)[];
  unexpectedExits: string[];
}

const names = namesFor("troupe");
const decoder = new TextDecoder();
const TERMINAL = new Set(["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"]);
const POLL_MS = 1_000;
const SUBMIT_CONCURRENCY = 10;
/** How long the schedule waits for replacement processes before it skips a fault. */
const REPLACEMENT_WAIT_MS = 60_000;

/** Runs the workload (fault-free first when `baseline`), then under faults; verifies; reports. */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? (() => undefined);
  let baselineWall: number | null = null;
  if (options.baseline) {
    log("fault-free run…");
    const clean = await runOnce(options, false);
    baselineWall = clean.wallMs;
    if (clean.lostTasks > 0 || clean.notCompleted.length > 0) {
      throw new Error(`the fault-free run did not complete: ${clean.notCompleted.join(", ")}`);
    }
  }
  log("run under faults…");
  const run = await runOnce(options, true);
  return {
    faults: run.faults,
    jobs: options.jobs,
    jobs_completed: run.jobsCompleted,
    tasks: run.tasks,
    reruns: run.reruns,
    duplicate_records: run.duplicateRecords,
    lost_tasks: run.lostTasks,
    requeue_p50_ms: quantile(run.killRequeueMs, 0.5),
    requeue_p99_ms: quantile(run.killRequeueMs, 0.99),
    requeue_samples: run.killRequeueMs.length,
    drain_requeue_p99_ms: quantile(run.drainRequeueMs, 0.99),
    drain_requeue_samples: run.drainRequeueMs.length,
    unexpected_exits: run.unexpectedExits,
    sigterm_exit_codes: run.sigtermExitCodes,
    heartbeat_ms: options.heartbeatMs,
    wall_ms: run.wallMs,
    baseline_wall_ms: baselineWall,
    wall_ratio: baselineWall ? round2(run.wallMs / baselineWall) : null,
  };
}

async function runOnce(o: ChaosOptions, withFaults: boolean): Promise<RunFigures> {
  const log = o.log ?? (() => undefined);
  const rate = String(o.actorFaultRate);
  const env: Record<string, string> = {
    MAX_CONCURRENT_TASKS: String(o.slots),
    HEARTBEAT_INTERVAL: `${o.heartbeatMs}ms`,
    WORKER_TIMEOUT: `${o.heartbeatMs * 6}ms`,
    DRAIN_TIMEOUT: `${o.drainTimeoutMs}ms`,
    ...(withFaults && o.actorFaultRate > 0
      ? { TROUPE_FAULTS: `worker=${rate},job=${rate},pool=${rate}` }
      : {}),
  };
  const cluster = await Cluster.start({
    processes: o.processes,
    env,
    ...(o.onChild ? { onChild: o.onChild } : {}),
    ...(o.entry ? { entry: o.entry } : {}),
  });
  const nc = await connect({
    servers: cluster.natsUrl,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
  });
  try {
    const tracker = new TaskTracker(nc);
    const started = Date.now();
    const jobIds = await submitAll(nc, o);
    const schedule = withFaults
      ? runSchedule(cluster, tracker, o, () => tracker.terminalJobs >= o.jobs)
      : Promise.resolve({ kill9: 0, sigterm: 0, nats_restart: 0, exitCodes: [] });
    // A schedule that fails (NATS not coming back) ends the run at once, with the cluster closed.
    const failed = schedule.then(
      () => new Promise<never>(() => undefined),
      (error: unknown) => Promise.reject(error),
    );
    const progress = setInterval(() => {
      const up = cluster.upMembers().length;
      log(
        `  ${Math.round((Date.now() - started) / 1000)} s: ${tracker.terminalJobs}/${o.jobs} jobs ended, ${tracker.completedTasks} task completions, ${up} processes up`,
      );
    }, 5_000);
    const ended = await Promise.race([
      waitForAllJobs(nc, tracker, jobIds, started + o.deadlineMs),
      failed,
    ]).finally(() => clearInterval(progress));
    const wallMs = ended - started;
    const done = await schedule;
    log(`all ${o.jobs} jobs ended after ${wallMs} ms; verifying from JetStream`);
    const verified = await verify(nc, jobIds);
    for (const reason of cluster.unexpectedExitReasons)
      log(`a process stopped by itself: ${reason}`);
    const sorted = [...tracker.killRequeueMs].sort((x, y) => x - y);
    log(`requeue after kill -9, every sample (ms): ${sorted.join(" ")}`);
    for (const [label, samples] of tracker.killRequeueByKill) {
      log(`  ${label}: ${samples.length ? samples.join(" ") : "no task was running"}`);
    }
    const faults = {
      kill9: done.kill9,
      sigterm: done.sigterm,
      nats_restart: done.nats_restart,
      ...cluster.injected,
    };
    return {
      wallMs,
      ...verified,
      reruns: tracker.reruns(),
      killRequeueMs: tracker.killRequeueMs,
      drainRequeueMs: tracker.drainRequeueMs,
      faults: { total: Object.values(faults).reduce((a, b) => a + b, 0), ...faults },
      sigtermExitCodes: done.exitCodes,
      unexpectedExits: [...cluster.unexpectedExits],
    };
  } finally {
    await nc.close().catch(() => undefined);
    await cluster.close();
  }
}

/** Follows task events: executions per task, and hand-offs (kill or drain) to other workers. */
class TaskTracker {
  readonly killRequeueMs: number[] = [];
  /** The same samples by kill (the label the schedule gave it), to see what slowed a requeue. */
  readonly killRequeueByKill = new Map<string, number[]>();
  readonly drainRequeueMs: number[] = [];
  terminalJobs = 0;
  completedTasks = 0;
  readonly #executions = new Map<string, number>();
  readonly #latest = new Map<string, { status: string; worker: string }>();
  readonly #pending = new Map<
    string,
    { since: number; from: string; kind: "kill" | "drain"; label?: string }
  >();
  readonly #ended = new Set<string>();
  #onCompletion: ((at: number) => void)[] = [];

  constructor(nc: NatsConnection) {
    nc.subscribe(`${names.prefix}.events.task.>`, {
      callback: (_error, msg) => this.#onTask(JSON.parse(decoder.decode(msg.data)) as TaskEvent),
    });
    // Tasks that run together in a chunk report in one chunk event: one task event each.
    nc.subscribe(`${names.prefix}.events.chunk.>`, {
      callback: (_error, msg) => {
        const event = JSON.parse(decoder.decode(msg.data)) as ChunkEvent;
        for (const task of taskEventsOf(event)) this.#onTask(task);
      },
    });
    nc.subscribe(names.events.allJobs, {
      callback: (_error, msg) => {
        const event = JSON.parse(decoder.decode(msg.data)) as { job_id: string; status: string };
        this.markEnded(event.job_id, event.status);
      },
    });
  }

  hasEnded(jobId: string): boolean {
    return this.#ended.has(jobId);
  }

  /** The last event seen of a task: its status and the worker that sent it. */
  lastSeen(jobId: string, index: number): { status: string; worker: string } | undefined {
    return this.#latest.get(`${jobId}.${index}`);
  }

  markEnded(jobId: string, status: string): void {
    if (!TERMINAL.has(status) || this.#ended.has(jobId)) return;
    this.#ended.add(jobId);
    this.terminalJobs = this.#ended.size;
  }

  /** A process was killed: the tasks it was running now wait for their lease to expire. */
  killed(workerId: string, at: number, label: string): void {
    this.killRequeueByKill.set(label, []);
    for (const [key, latest] of this.#latest) {
      if (latest.status === "RUNNING" && latest.worker === workerId) {
        this.#pending.set(key, { since: at, from: workerId, kind: "kill", label });
      }
    }
  }

  /** Resolves with the time of the next task completion seen. */
  nextCompletion(): Promise<number> {
    return new Promise((resolve) => this.#onCompletion.push(resolve));
  }

  reruns(): number {
    let reruns = 0;
    for (const count of this.#executions.values()) reruns += Math.max(0, count - 1);
    return reruns;
  }

  #onTask(event: TaskEvent): void {
    if (event.epoch !== undefined) return;
    const key = `${event.job_id}.${event.task_index}`;
    const at = Date.parse(event.at);
    this.#latest.set(key, { status: event.status, worker: event.worker_id });
    const pending = this.#pending.get(key);
    switch (event.status) {
      case "RUNNING":
        this.#executions.set(key, (this.#executions.get(key) ?? 0) + 1);
        if (pending && pending.from !== event.worker_id) {
          const ms = Math.max(0, at - pending.since);
          (pending.kind === "kill" ? this.killRequeueMs : this.drainRequeueMs).push(ms);
          if (pending.label) this.killRequeueByKill.get(pending.label)?.push(ms);
          this.#pending.delete(key);
        }
        return;
      case "QUEUED":
        if (event.reason)
          this.#pending.set(key, { since: at, from: event.worker_id, kind: "drain" });
        return;
      case "COMPLETED": {
        this.completedTasks += 1;
        this.#pending.delete(key);
        const waiting = this.#onCompletion;
        this.#onCompletion = [];
        for (const resolve of waiting) resolve(Date.now());
        return;
      }
      case "FAILED":
      case "CANCELLED":
        this.#pending.delete(key);
        return;
      default:
        return;
    }
  }
}

interface TaskEvent {
  job_id: string;
  task_index: number;
  status: string;
  worker_id: string;
  epoch?: number;
  reason?: string;
  at: string;
}

/** Submits the jobs, a few requests at a time (in order: job i gets index i). */
async function submitAll(nc: NatsConnection, o: ChaosOptions): Promise<string[]> {
  const jobIds: string[] = [];
  for (let first = 0; first < o.jobs; first += SUBMIT_CONCURRENCY) {
    const count = Math.min(SUBMIT_CONCURRENCY, o.jobs - first);
    const ids = await Promise.all(
      Array.from({ length: count }, (_, k) => submitOne(nc, o, first + k)),
    );
    jobIds.push(...ids);
  }
  return jobIds;
}

async function submitOne(nc: NatsConnection, o: ChaosOptions, i: number): Promise<string> {
  const spec = {
    name: `chaos-${i}`,
    model_type: "neural_network",
    dataset: { samples: 8_000, features: 16, seed: 1 + (i % 10) },
    epochs: o.epochs,
    tasks: o.tasksPerJob,
    // Kills and faults cost attempts; the schedule must not be able to fail a job.
    retry_policy: { max_attempts: 100, backoff_ms: 100 },
  };
  const reply = await nc.request(names.api.submit, JSON.stringify(spec), { timeout: 10_000 });
  const body = JSON.parse(decoder.decode(reply.data)) as { job_id?: string };
  if (!body.job_id) throw new Error(`submit refused: ${decoder.decode(reply.data)}`);
  return body.job_id;
}

type Action = "kill9" | "sigterm" | "nats_restart";

/** The fault schedule: kills, with SIGTERMs and NATS restarts spread evenly among them. */
export function faultSchedule(o: Pick<ChaosOptions, "kills" | "sigterms" | "natsRestarts">) {
  const actions: Action[] = Array.from({ length: o.kills }, () => "kill9" as Action);
  const spread = (action: Action, count: number) => {
    for (let k = 0; k < count; k++) {
      const at = Math.round(((k + 1) * (actions.length + 1)) / (count + 1));
      actions.splice(Math.min(at, actions.length), 0, action);
    }
  };
  spread("nats_restart", o.natsRestarts);
  spread("sigterm", o.sigterms);
  return actions;
}

async function runSchedule(
  cluster: Cluster,
  tracker: TaskTracker,
  o: ChaosOptions,
  finished: () => boolean,
) {
  const log = o.log ?? (() => undefined);
  const done = { kill9: 0, sigterm: 0, nats_restart: 0, exitCodes: [] as (number | null)[] };
  const restarts: Promise<void>[] = [];
  const started = Date.now();
  const elapsed = () => `${Math.round((Date.now() - started) / 100) / 10} s`;
  for (const action of faultSchedule(o)) {
    await sleep(o.faultEveryMs);
    if (finished()) break;
    if (action === "nats_restart") {
      log(`fault: NATS server restart at ${elapsed()}`);
      const restartedAt = Date.now();
      await cluster.restartNats();
      const back = Date.now() - restartedAt;
      // What the restart costs: the time until work is seen completing again.
      void tracker
        .nextCompletion()
        .then((at) =>
          log(
            `  NATS back after ${back} ms; next task completion ${at - restartedAt} ms after the restart began`,
          ),
        );
      done.nats_restart += 1;
      continue;
    }
    // Never take the last running process: wait (bounded) for a replacement to come up.
    await until(() => cluster.upMembers().length >= Math.min(2, o.processes), REPLACEMENT_WAIT_MS);
    const victim = pick(cluster.upMembers());
    if (!victim) continue; // no process came back in time: skip this fault (it is not counted)
    if (action === "kill9") {
      const killedAt = Date.now();
      const up = cluster.upMembers().length;
      const { workerId, restarted } = await cluster.kill9(victim);
      const label = `kill ${done.kill9 + 1} at ${elapsed()}, ${up} up`;
      if (workerId) tracker.killed(workerId, killedAt, label);
      log(`fault: kill -9 of process #${victim.index} (${workerId})`);
      restarts.push(restarted);
      done.kill9 += 1;
    } else {
      log(`fault: SIGTERM of process #${victim.index}`);
      const { code, restarted } = await cluster.sigterm(victim);
      log(`  it exited with code ${code}`);
      done.exitCodes.push(code);
      restarts.push(restarted);
      done.sigterm += 1;
    }
  }
  // A replacement that failed to start was started again, and counted as an unexpected exit.
  await Promise.all(restarts);
  return done;
}

/** Resolves with the time every job was terminal; job events wake it, a KV scan confirms. */
async function waitForAllJobs(
  nc: NatsConnection,
  tracker: TaskTracker,
  jobIds: string[],
  deadline: number,
): Promise<number> {
  const kv = await new Kvm(nc).open(names.buckets.jobs);
  for (;;) {
    if (tracker.terminalJobs >= jobIds.length) return Date.now();
    // Job events are core NATS: one published while the server restarts is lost. Look in KV.
    for (const jobId of jobIds) {
      const entry = await kv.get(jobId).catch(() => null);
      if (entry?.operation === "PUT") {
        tracker.markEnded(jobId, (unpack(entry.value) as { status: string }).status);
      }
    }
    if (tracker.terminalJobs >= jobIds.length) return Date.now();
    if (Date.now() > deadline) {
      const stuck = jobIds.filter((jobId) => !tracker.hasEnded(jobId));
      const states = await Promise.all(stuck.map((jobId) => describeJob(nc, tracker, jobId)));
      throw new Error(
        `only ${tracker.terminalJobs} of ${jobIds.length} jobs ended in time; the others:\n${states.join("\n")}`,
      );
    }
    await sleep(POLL_MS);
  }
}

/** What a job that did not end looks like: its record, its tasks' last events, its results. */
async function describeJob(nc: NatsConnection, tracker: TaskTracker, jobId: string) {
  const kvm = new Kvm(nc);
  const entry = await (await kvm.open(names.buckets.jobs)).get(jobId).catch(() => null);
  const job = entry?.operation === "PUT" ? (unpack(entry.value) as Record<string, unknown>) : {};
  const fields = [
    "status",
    "total_tasks",
    "completed_tasks",
    "failed_tasks",
    "running_tasks",
    "tasks_enqueued",
    "error",
  ].map((field) => `${field}=${JSON.stringify(job[field])}`);
  const recorded = [...(await recordedOutcomes(nc, jobId)).keys()].map(String);
  const tasks = Array.from({ length: Number(job.total_tasks ?? 0) }, (_, index) => {
    const seen = tracker.lastSeen(jobId, index);
    return `${index}:${seen ? `${seen.status}@${seen.worker}` : "no event"}`;
  });
  return `  ${jobId}: ${fields.join(" ")}; last task events ${tasks.join(" ")}; results recorded for tasks [${recorded.sort().join(",")}]`;
}

/**
 * A job's recorded task outcomes, from its chunk records: task index → how many records hold an
 * outcome for it (more than one would be a task recorded twice).
 */
async function recordedOutcomes(nc: NatsConnection, jobId: string): Promise<Map<number, string[]>> {
  const results = await new Kvm(nc).open(names.buckets.results);
  const outcomes = new Map<number, string[]>();
  for await (const key of await results.keys(`${jobId}.>`)) {
    const entry = await results.get(key);
    if (entry?.operation !== "PUT") continue;
    for (const [index, outcome] of Object.entries(decodeRecord(entry.value).outcomes)) {
      outcomes.set(Number(index), [...(outcomes.get(Number(index)) ?? []), outcome.status]);
    }
  }
  return outcomes;
}

/**
 * From JetStream: job states, one outcome per task, and how many outcomes were recorded twice
 * (a task in two chunk records, or a chunk generation written twice).
 */
async function verify(nc: NatsConnection, jobIds: string[]) {
  const jobsKv = await new Kvm(nc).open(names.buckets.jobs);
  let tasks = 0;
  let lostTasks = 0;
  let jobsCompleted = 0;
  let duplicates = 0;
  let keys = 0;
  const notCompleted: string[] = [];
  for (const jobId of jobIds) {
    const entry = await jobsKv.get(jobId);
    const record = entry ? (unpack(entry.value) as { status: string; total_tasks: number }) : null;
    const total = record?.total_tasks ?? 0;
    const outcomes = await recordedOutcomes(nc, jobId);
    tasks += total;
    lostTasks += Math.max(0, total - outcomes.size);
    let allCompleted = outcomes.size === total;
    for (const statuses of outcomes.values()) {
      duplicates += statuses.length - 1;
      if (statuses.some((status) => status !== "COMPLETED")) allCompleted = false;
    }
    if (record?.status === "COMPLETED" && allCompleted) jobsCompleted += 1;
    else notCompleted.push(`${jobId}:${record?.status ?? "missing"}`);
  }
  const jsm = await jetstreamManager(nc);
  const stream = await jsm.streams.info(kvStream(names.buckets.results));
  const resultsKv = await new Kvm(nc).open(names.buckets.results);
  for await (const key of await resultsKv.keys()) if (key) keys += 1;
  return {
    tasks,
    lostTasks,
    jobsCompleted,
    notCompleted,
    // A key written twice (a record's create cannot be), or a task recorded in two records.
    duplicateRecords: stream.state.last_seq - keys + duplicates,
  };
}

/** The human table. */
export function chaosTable(r: ChaosResult): string {
  const f = r.faults;
  const rows: [string, string][] = [
    [
      "faults injected",
      `${f.total} (kill -9 ${f.kill9}, SIGTERM ${f.sigterm}, NATS restart ${f.nats_restart}, worker actor ${f.worker}, job actor ${f.job}, pool thread ${f.pool})`,
    ],
    ["jobs", `${r.jobs} submitted, ${r.jobs_completed} COMPLETED`],
    ["tasks", String(r.tasks)],
    ["task executions beyond one (re-runs)", String(r.reruns)],
    ["duplicate records (must be 0)", String(r.duplicate_records)],
    ["lost tasks (must be 0)", String(r.lost_tasks)],
    [
      "requeue after kill -9, p50 / p99",
      `${r.requeue_p50_ms} / ${r.requeue_p99_ms} ms (${r.requeue_samples} tasks; heartbeat ${r.heartbeat_ms} ms, lease ${LEASE_HEARTBEATS * r.heartbeat_ms} ms)`,
    ],
    [
      "requeue after SIGTERM hand-back, p99",
      `${r.drain_requeue_p99_ms} ms (${r.drain_requeue_samples} tasks)`,
    ],
    ["SIGTERM exit codes", r.sigterm_exit_codes.join(", ") || "-"],
    ["processes that stopped by themselves", r.unexpected_exits.join(", ") || "none"],
    [
      "wall time, faults / fault-free",
      r.baseline_wall_ms === null
        ? `${r.wall_ms} ms`
        : `${r.wall_ms} / ${r.baseline_wall_ms} ms = ${r.wall_ratio}×`,
    ],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join("\n");
}

function pick<T>(items: readonly T[]): T | undefined {
  return items[Math.floor(Math.random() * items.length)];
}

/** Resolves once `test()` holds (checked every 100 ms) or after `ms`. */
async function until(test: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test() && Date.now() < deadline) await sleep(100);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** `--heartbeat <duration>`, checked: a bad value stops the run with the accepted form. */
function heartbeatOption(argv: string[]): { heartbeatMs?: number } {
  const at = argv.indexOf("--heartbeat");
  if (at < 0) return {};
  const text = argv[at + 1] ?? "";
  const ms = parseDuration(text);
  if (ms === undefined || ms < 100) {
    console.error(
      `--heartbeat ${JSON.stringify(text)} is invalid: expected ${DURATION_FORMS}, at least 100ms`,
    );
    process.exit(2);
  }
  return { heartbeatMs: ms };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const ci = process.argv.includes("--ci");
  const heartbeat = heartbeatOption(process.argv);
  // The full run restarts a process every few seconds: like a deployment, it runs the bundled
  // build, unless `--tsx` asks for the sources (each start-up then costs ~5× the CPU).
  const build = ci || process.argv.includes("--tsx") ? undefined : await buildTroupe();
  console.error(
    build
      ? `processes run the bundled build (${build.entry})`
      : "processes run the sources via tsx",
  );
  try {
    const options = {
      ...(ci ? CI_CHAOS : FULL_CHAOS),
      ...heartbeat,
      log: (line: string) => console.error(line),
      ...(build ? { entry: build.entry } : {}),
    };
    const result = await runChaos(options);
    console.log(chaosTable(result));
    console.log(`RESULT ${JSON.stringify({ ...result, compiled_build: build !== undefined })}`);
  } finally {
    build?.dispose();
  }
}
