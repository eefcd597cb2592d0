import { type ChunkEvent, taskEventsOf } from "../../src/contract/events.ts";
import type { ApiClient } from "./api-client.ts";

export const TERMINAL = ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"];

/** A job record as the API returns it (the fields tests look at). */
export interface Job {
  job_id: string;
  status: string;
  total_tasks: number;
  completed_tasks: number;
  failed_tasks: number;
  /** Tasks per chunk (queue message, pool post, result record). */
  chunk_size?: number;
  running_tasks: number;
  retries: number;
  progress: number;
  error: string | null;
  metrics: { loss: number | null; accuracy: number | null };
  started_at: string | null;
  finished_at: string | null;
  spec: { task_type?: string; model?: { job_id?: string } };
}

/** A small, quick job: logistic regression on a little synthetic data. */
export function quickSpec(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model_type: "logistic_regression",
    dataset: { samples: 600, features: 8, seed: 1 },
    epochs: 2,
    tasks: 2,
    ...overrides,
  };
}

export async function submit(client: ApiClient, spec: Record<string, unknown>): Promise<string> {
  const reply = await client.request<{ job_id?: string; error?: unknown }>(
    "troupe.jobs.submit",
    spec,
  );
  if (!reply.body.job_id) throw new Error(`submit refused: ${JSON.stringify(reply.body)}`);
  return reply.body.job_id;
}

export async function getJob(client: ApiClient, jobId: string): Promise<Job> {
  return (await client.request<Job>("troupe.jobs.get", { job_id: jobId })).body;
}

/**
 * Resolves with the job record once the job has ended (or once `reached` says so): woken by the
 * job's events, confirmed by a get (an event published before the subscription would otherwise
 * be missed).
 */
export async function waitForJob(
  client: ApiClient,
  jobId: string,
  timeoutMs = 120_000,
  reached: (job: Job) => boolean = (job) => TERMINAL.includes(job.status),
): Promise<Job> {
  let wake: (() => void) | undefined;
  const sub = client.nc.subscribe(`troupe.events.job.${jobId}`, { callback: () => wake?.() });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const changed = new Promise<void>((resolve) => {
        wake = resolve;
      });
      // A request that meets a NATS restart times out or finds no responder: ask again, as a
      // client should.
      const job = await getJob(client, jobId).catch(() => undefined);
      if (job && reached(job)) return job;
      if (Date.now() > deadline)
        throw new Error(`job ${jobId} still ${job?.status} after ${timeoutMs} ms`);
      // The next state change of this job wakes us; a look every second guards against a lost event.
      await Promise.race([changed, new Promise((resolve) => setTimeout(resolve, 1_000))]);
    }
  } finally {
    sub.unsubscribe();
  }
}

/**
 * A task event as published on `troupe.events.task.<job>.<index>`, or one task's part of a chunk
 * event (`troupe.events.chunk.<job>.<chunk>`), which then names its chunk.
 */
export interface TaskEventSeen {
  chunk?: number;
  job_id: string;
  task_index: number;
  status: string;
  attempt: number;
  worker_id: string;
  epoch?: number;
  error?: string;
  /** Why a task went back to QUEUED (handed back). */
  reason?: string;
}

/** Task state changes seen so far, and a way to wait for the one a test needs. */
export interface TaskEvents {
  readonly events: TaskEventSeen[];
  /** Resolves as soon as the events seen so far satisfy `holds` (checked on every new event). */
  until(holds: (events: readonly TaskEventSeen[]) => boolean): Promise<void>;
  stop(): void;
}

/**
 * Collects every task state change (not per-epoch progress) from now on, in arrival order: task
 * events, and chunk events as one event per task they list.
 */
export function collectTaskEvents(client: ApiClient): TaskEvents {
  const events: TaskEventSeen[] = [];
  const waiters = new Set<() => void>();
  const decoder = new TextDecoder();
  const callback = (_error: Error | null, msg: { data: Uint8Array }) => {
    const event = JSON.parse(decoder.decode(msg.data)) as TaskEventSeen | ChunkEvent;
    const tasks =
      "tasks" in event
        ? taskEventsOf(event).map((task) => ({ ...task, chunk: event.chunk }))
        : [event];
    for (const task of tasks) if (task.epoch === undefined) events.push(task);
    for (const waiter of waiters) waiter();
  };
  const subs = ["troupe.events.task.>", "troupe.events.chunk.>"].map((subject) =>
    client.nc.subscribe(subject, { callback }),
  );
  return {
    events,
    until: (holds) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (!holds(events)) return;
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      }),
    stop: () => {
      for (const sub of subs) sub.unsubscribe();
    },
  };
}

/** A spec whose tasks train for a long while (until cancelled or timed out). */
export function longSpec(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model_type: "neural_network",
    dataset: { samples: 20_000, features: 20, seed: 3 },
    epochs: 1000,
    tasks: 4,
    ...overrides,
  };
}

/**
 * The largest number of tasks of `jobIds` training at once, replayed from their events. A chunk
 * trains its tasks one after the other in one slot: it counts once while any of its tasks runs.
 */
export function maxConcurrent(events: TaskEventSeen[], jobIds: ReadonlySet<string>): number {
  const running = new Map<string, Set<number>>();
  let max = 0;
  for (const event of events) {
    if (!jobIds.has(event.job_id)) continue;
    const unit = `${event.job_id}.${event.chunk ?? `t${event.task_index}`}`;
    const tasks = running.get(unit) ?? new Set<number>();
    if (event.status === "RUNNING") tasks.add(event.task_index);
    else tasks.delete(event.task_index);
    if (tasks.size > 0) running.set(unit, tasks);
    else running.delete(unit);
    max = Math.max(max, running.size);
  }
  return max;
}
