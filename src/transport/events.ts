import type { NatsConnection } from "./connection.ts";
import { outboundOf } from "./outbound.ts";
import type { Names } from "./subjects.ts";

const encoder = new TextEncoder();

/** A job's state changed (`troupe.events.job.<job_id>`). */
export interface JobEvent {
  type: "job";
  job_id: string;
  status: string;
  completed_tasks: number;
  failed_tasks: number;
  total_tasks: number;
  progress: number;
  error: string | null;
  at: string;
}

/** A task's state changed, or it finished an epoch (`troupe.events.task.<job_id>.<index>`). */
export interface TaskEvent {
  type: "task";
  job_id: string;
  task_index: number;
  status: string;
  attempt: number;
  worker_id: string;
  /** Present on per-epoch progress events. */
  epoch?: number;
  epochs?: number;
  loss?: number;
  accuracy?: number;
  samples_per_s?: number;
  error?: string;
  /** Why a task went back to QUEUED (handed back by a draining worker). */
  reason?: string;
  at: string;
}

/** One task's state within a chunk event. */
export interface ChunkTaskState {
  task_index: number;
  status: string;
  attempt: number;
  epoch?: number;
  epochs?: number;
  loss?: number;
  accuracy?: number;
  error?: string;
  reason?: string;
}

/**
 * The tasks of a chunk (several tasks of one job run together), in one event
 * (`troupe.events.chunk.<job_id>.<chunk>`): each task RUNNING as the chunk starts, each task's
 * fate as it ends, and per-epoch progress at most a few times a second. A chunk of one task
 * reports on the task's subject instead.
 */
export interface ChunkEvent {
  type: "chunk";
  job_id: string;
  chunk: number;
  worker_id: string;
  tasks: ChunkTaskState[];
  at: string;
}

/** The task events a chunk event stands for, one per task it lists. */
export function taskEventsOf(event: ChunkEvent): TaskEvent[] {
  return event.tasks.map((task) => ({
    type: "task",
    job_id: event.job_id,
    worker_id: event.worker_id,
    at: event.at,
    ...task,
  }));
}

/** A worker registered, heartbeated, went stale, started draining or left. */
export interface WorkerEvent {
  type: "worker";
  event: "registered" | "heartbeat" | "stale" | "draining" | "gone";
  worker_id: string;
  status: string;
  at: string;
}

/**
 * A plain publish (no reply subject) to a request subject was refused (`troupe.events.rejected`):
 * the only way its sender can learn of it. Carries what an error reply would, and what the body
 * said of itself, to tell which publish it was.
 */
export interface RejectedEvent {
  type: "rejected";
  /** The subject it was published to, e.g. `troupe.jobs.submit`. */
  subject: string;
  code: string;
  message: string;
  /** Every field at fault, for an invalid request. */
  errors?: { path: string; message: string }[];
  /** From the body, when it could be decoded and held them (strings, at most 256 characters). */
  idempotency_key?: string;
  name?: string;
  user_id?: string;
  job_id?: string;
  /** When the publish arrived. */
  received_at: string;
  at: string;
}

export type TroupeEvent = JobEvent | TaskEvent | ChunkEvent | WorkerEvent | RejectedEvent;

/**
 * Publishes events on core NATS as JSON, for `nats sub 'troupe.events.>'`, the HTTP event stream
 * and metrics. Fire and forget: events are a live view, the state itself lives in JetStream.
 */
export class EventPublisher {
  readonly #nc: NatsConnection;
  readonly #names: Names;

  constructor(nc: NatsConnection, names: Names) {
    this.#nc = nc;
    this.#names = names;
  }

  job(event: Omit<JobEvent, "type" | "at">): void {
    this.#publish(this.#names.events.job(event.job_id), { type: "job", ...event, at: now() });
  }

  task(event: Omit<TaskEvent, "type" | "at">): void {
    const subject = this.#names.events.task(event.job_id, event.task_index);
    this.#publish(subject, { type: "task", ...event, at: now() });
  }

  chunk(event: Omit<ChunkEvent, "type" | "at">): void {
    const subject = this.#names.events.chunk(event.job_id, event.chunk);
    this.#publish(subject, { type: "chunk", ...event, at: now() });
  }

  worker(event: Omit<WorkerEvent, "type" | "at">): void {
    this.#publish(this.#names.events.worker(event.worker_id), {
      type: "worker",
      ...event,
      at: now(),
    });
  }

  rejected(event: Omit<RejectedEvent, "type" | "at">): void {
    this.#publish(this.#names.events.rejected, { type: "rejected", ...event, at: now() });
  }

  #publish(subject: string, event: TroupeEvent): void {
    if (this.#nc.isClosed()) return;
    outboundOf(this.#nc).publish(subject, encoder.encode(JSON.stringify(event)));
  }
}

function now(): string {
  return new Date().toISOString();
}

/** Events buffered per `subscribeJobEvents` reader before the oldest are dropped (a stalled reader). */
const JOB_EVENTS_BUFFER = 1_000;

/**
 * Live events of one job: its state changes and its tasks' state changes and per-epoch progress
 * (a chunk event as one task event per task it lists), in arrival order, until `signal` aborts, the reader stops (`break`/`return`), or the connection
 * closes. Both NATS subscriptions are removed as soon as any of those happens. A reader that falls
 * more than 1,000 events behind loses the oldest (events are a live view; state is in KV).
 */
export function subscribeJobEvents(
  nc: NatsConnection,
  n: Names,
  jobId: string,
  signal: AbortSignal,
): AsyncIterable<JobEvent | TaskEvent> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<JobEvent | TaskEvent> {
      const decoder = new TextDecoder();
      const buffered: (JobEvent | TaskEvent)[] = [];
      let wake: (() => void) | undefined;
      let done = signal.aborted;
      const notify = () => {
        const resolve = wake;
        wake = undefined;
        resolve?.();
      };
      const onMessage = (error: Error | null, msg: { data: Uint8Array }) => {
        if (error || done) return;
        try {
          const event = JSON.parse(decoder.decode(msg.data)) as JobEvent | TaskEvent | ChunkEvent;
          for (const one of event.type === "chunk" ? taskEventsOf(event) : [event]) {
            if (buffered.length >= JOB_EVENTS_BUFFER) buffered.shift();
            buffered.push(one);
          }
        } catch {
          return; // not ours: events are JSON, anything else on the subject is ignored
        }
        notify();
      };
      const subs = done
        ? []
        : [
            nc.subscribe(n.events.job(jobId), { callback: onMessage }),
            nc.subscribe(n.events.tasksOf(jobId), { callback: onMessage }),
            nc.subscribe(n.events.chunksOf(jobId), { callback: onMessage }),
          ];
      const finish = () => {
        done = true;
        signal.removeEventListener("abort", finish);
        for (const sub of subs) if (!sub.isClosed()) sub.unsubscribe();
        buffered.length = 0;
        notify();
      };
      signal.addEventListener("abort", finish, { once: true });
      for (const sub of subs) void sub.closed.then(finish, finish);
      return {
        async next(): Promise<IteratorResult<JobEvent | TaskEvent>> {
          while (!done && buffered.length === 0) await new Promise<void>((r) => (wake = r));
          const event = buffered.shift();
          if (event === undefined) return { value: undefined, done: true };
          return { value: event, done: false };
        },
        async return(): Promise<IteratorResult<JobEvent | TaskEvent>> {
          finish();
          return { value: undefined, done: true };
        },
      };
    },
  };
}
