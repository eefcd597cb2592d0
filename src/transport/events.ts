import type { NatsConnection } from "./connection.ts";
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
  at: string;
}

/** A worker registered, heartbeated, went stale, started draining or left. */
export interface WorkerEvent {
  type: "worker";
  event: "registered" | "heartbeat" | "stale" | "draining" | "gone";
  worker_id: string;
  status: string;
  at: string;
}

export type TroupeEvent = JobEvent | TaskEvent | WorkerEvent;

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

  worker(event: Omit<WorkerEvent, "type" | "at">): void {
    this.#publish(this.#names.events.worker(event.worker_id), { type: "worker", ...event, at: now() });
  }

  #publish(subject: string, event: TroupeEvent): void {
    if (this.#nc.isClosed()) return;
    this.#nc.publish(subject, encoder.encode(JSON.stringify(event)));
  }
}

function now(): string {
  return new Date().toISOString();
}
