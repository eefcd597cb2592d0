import { type TaskEvent, type TroupeEvent, taskEventsOf } from "../../contract/events.ts";
import type { JobRecord } from "../../jobs/job-record.ts";
import { isTerminalJobState, type JobState } from "../../jobs/job-state.ts";

/** One task as a watcher sees it. */
export interface TaskView {
  readonly index: number;
  status: string;
  /** Epochs trained so far (of `epochs`). */
  epoch: number;
  epochs: number;
  loss: number | undefined;
  accuracy: number | undefined;
  attempt: number;
  error: string | undefined;
}

/**
 * A job's progress folded from its record and its events (job, task and chunk events): what the
 * bars, the lines and the final summary show. Pure: no I/O, no clock.
 */
export class JobProgress {
  readonly jobId: string;
  name = "";
  status = "SUBMITTED";
  total = 0;
  completed = 0;
  failed = 0;
  /** Epochs of each task (the spec's; trees for the tree models). */
  epochs = 1;
  error: string | null = null;
  metrics: { loss: number | null; accuracy: number | null } = { loss: null, accuracy: null };
  createdAt: string | undefined;
  finishedAt: string | null = null;
  readonly tasks = new Map<number, TaskView>();

  constructor(jobId: string) {
    this.jobId = jobId;
  }

  get ended(): boolean {
    return isTerminalJobState(this.status as JobState);
  }

  /** The task's view (a QUEUED one before any event names it). */
  task(index: number): TaskView {
    let view = this.tasks.get(index);
    if (!view) {
      view = {
        index,
        status: "QUEUED",
        epoch: 0,
        epochs: this.epochs,
        loss: undefined,
        accuracy: undefined,
        attempt: 1,
        error: undefined,
      };
      this.tasks.set(index, view);
    }
    return view;
  }

  /** Takes the record's state (the source of truth for the job's own fields). */
  applyRecord(record: JobRecord): void {
    this.name = record.name;
    this.total = record.total_tasks;
    this.completed = record.completed_tasks;
    this.failed = record.failed_tasks;
    this.epochs = record.spec.epochs;
    this.error = record.error;
    this.metrics = record.metrics;
    this.createdAt = record.created_at;
    this.finishedAt = record.finished_at;
    this.#setStatus(record.status);
  }

  /** Applies one event; false when it is not about this job. */
  apply(event: TroupeEvent): boolean {
    if (!("job_id" in event) || event.job_id !== this.jobId) return false;
    switch (event.type) {
      case "job":
        this.completed = event.completed_tasks;
        this.failed = event.failed_tasks;
        this.total = event.total_tasks;
        this.error = event.error;
        this.#setStatus(event.status);
        return true;
      case "task":
        this.#applyTask(event);
        return true;
      case "chunk":
        for (const task of taskEventsOf(event)) this.#applyTask(task);
        return true;
      default:
        return false;
    }
  }

  #applyTask(event: TaskEvent): void {
    const view = this.task(event.task_index);
    if (event.epochs !== undefined) view.epochs = event.epochs;
    if (event.epoch !== undefined) view.epoch = Math.max(view.epoch, event.epoch);
    if (event.loss !== undefined) view.loss = event.loss;
    if (event.accuracy !== undefined) view.accuracy = event.accuracy;
    view.attempt = event.attempt;
    view.status = event.status;
    if (event.error !== undefined) view.error = event.error;
    if (event.status === "COMPLETED") view.epoch = view.epochs;
  }

  #setStatus(status: string): void {
    this.status = status;
    // A completed job completed every task, whichever of their events were missed.
    if (status !== "COMPLETED") return;
    for (let index = 0; index < this.total; index++) {
      const view = this.task(index);
      view.status = "COMPLETED";
      view.epoch = view.epochs;
    }
  }
}
