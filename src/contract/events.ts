// The public events (DESIGN §2.3): what `nats sub 'troupe.events.>'`, the HTTP event stream and
// the job actor read.

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
  /** Why no live worker can ever run its tasks, while that holds (placement). */
  unschedulable?: string;
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
  /** Loss on the held-out split after the epoch (the worker's validation loss). */
  validation_loss?: number;
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
  /** Loss on the held-out split after the epoch. */
  validation_loss?: number;
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

/** A workflow's state or one of its steps' changed (`troupe.events.workflow.<workflow_id>`). */
export interface WorkflowEvent {
  type: "workflow";
  workflow_id: string;
  workflow_name: string;
  status: string;
  error: string | null;
  steps: { step_id: string; status: string; job_id: string | null }[];
  at: string;
}

export type TroupeEvent =
  | JobEvent
  | TaskEvent
  | ChunkEvent
  | WorkerEvent
  | RejectedEvent
  | WorkflowEvent;
