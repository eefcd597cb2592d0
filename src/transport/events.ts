import {
  type ChunkEvent,
  type JobEvent,
  type RejectedEvent,
  type TaskEvent,
  type TroupeEvent,
  taskEventsOf,
  type WorkerEvent,
  type WorkflowEvent,
} from "../contract/events.ts";
import type { NatsConnection } from "./connection.ts";
import { outboundOf } from "./outbound.ts";
import type { Names } from "./subjects.ts";

const encoder = new TextEncoder();

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

  workflow(event: Omit<WorkflowEvent, "type" | "at">): void {
    this.#publish(this.#names.events.workflow(event.workflow_id), {
      type: "workflow",
      ...event,
      at: now(),
    });
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
