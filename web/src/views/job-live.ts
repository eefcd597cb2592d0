import { ApiError, readEvents } from "../api.ts";
import { isEnded, type JobEvent, type JobRecord, type JobState, type TaskEvent } from "../types.ts";

/** One task as the job page shows it. */
export interface TaskLive {
  index: number;
  status: string;
  epoch: number;
  epochs: number;
  loss: number | undefined;
  accuracy: number | undefined;
  attempt: number;
  worker: string;
  error: string | undefined;
  /** epoch → loss and epoch → accuracy, as the task reported them while this page was open. */
  loss_by_epoch: Map<number, number>;
  accuracy_by_epoch: Map<number, number>;
}

/** A line of the job's event log. */
export interface LogLine {
  id: number;
  at: string;
  text: string;
}

const LOG_LINES = 200;
const RETRY_MS = [500, 1_000, 2_000, 5_000, 10_000];

/**
 * A job's live state, folded from the API's event stream (`GET /api/v1/jobs/:id/events`): the
 * record, each task's state and its curves, the recent events. Reconnects when the stream drops
 * before the job ends (the stream starts with the record again). Changes are announced at most
 * once per animation frame, however many events arrive: 8 tasks streaming cost one render a frame.
 */
export class JobLive {
  record: JobRecord | undefined;
  readonly tasks = new Map<number, TaskLive>();
  readonly log: LogLine[] = [];
  error: string | undefined;
  #logId = 0;
  #frame = 0;
  readonly #onChange: () => void;
  readonly #abort = new AbortController();

  constructor(
    readonly jobId: string,
    onChange: () => void,
  ) {
    this.#onChange = onChange;
    void this.#follow();
  }

  close(): void {
    this.#abort.abort();
    cancelAnimationFrame(this.#frame);
  }

  get ended(): boolean {
    return this.record !== undefined && isEnded(this.record.status);
  }

  async #follow(): Promise<void> {
    const path = `/api/v1/jobs/${encodeURIComponent(this.jobId)}/events`;
    for (let attempt = 0; !this.#abort.signal.aborted; attempt++) {
      try {
        for await (const frame of readEvents(path, this.#abort.signal)) {
          attempt = 0;
          this.error = undefined;
          this.#apply(frame.event, JSON.parse(frame.data) as unknown);
        }
        if (this.ended) return;
      } catch (error) {
        if (this.#abort.signal.aborted) return;
        // Unknown job, or signed out: nothing a retry would change.
        if (error instanceof ApiError && (error.status === 404 || error.status === 401)) {
          this.error = error.message;
          this.#changed();
          return;
        }
        this.error = `event stream interrupted (${(error as Error).message}); reconnecting`;
        this.#changed();
      }
      const wait = RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)] ?? 10_000;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  #apply(kind: string, data: unknown): void {
    if (kind === "state" || kind === "end") {
      this.record = data as JobRecord;
      // Every task has a row from the start: QUEUED until an event says otherwise.
      for (let index = 0; index < this.record.total_tasks; index++) this.task(index);
      // The job event that ended it is in the log already, unless it ended before the page opened.
      if (kind === "end" && this.log[0]?.text.startsWith(`job ${this.record.status}`) !== true) {
        this.#addLog(this.record.finished_at ?? "", `job ${this.record.status}`);
      }
      if (this.record.status === "COMPLETED") this.#completeAll(this.record);
    } else if (kind === "job") {
      const event = data as JobEvent;
      if (this.record) {
        this.record = {
          ...this.record,
          status: event.status as JobState, // a job event carries one of the job states
          completed_tasks: event.completed_tasks,
          failed_tasks: event.failed_tasks,
          progress: event.progress,
          error: event.error,
        };
      }
      const error = event.error ? `: ${event.error}` : "";
      this.#addLog(
        event.at,
        `job ${event.status}, ${event.completed_tasks}/${event.total_tasks} tasks${error}`,
      );
    } else if (kind === "task") {
      this.#applyTask(data as TaskEvent);
    }
    this.#changed();
  }

  #applyTask(event: TaskEvent): void {
    const task = this.task(event.task_index);
    task.status = event.status;
    task.attempt = event.attempt;
    task.worker = event.worker_id;
    if (event.epochs !== undefined) task.epochs = event.epochs;
    if (event.error !== undefined) task.error = event.error;
    if (event.loss !== undefined) task.loss = event.loss;
    if (event.accuracy !== undefined) task.accuracy = event.accuracy;
    if (event.epoch !== undefined) {
      task.epoch = event.epoch;
      if (event.loss !== undefined) task.loss_by_epoch.set(event.epoch, event.loss);
      if (event.accuracy !== undefined) task.accuracy_by_epoch.set(event.epoch, event.accuracy);
      return; // per-epoch progress: the curves say it, the log would drown in it
    }
    if (event.status === "COMPLETED") task.epoch = task.epochs;
    const why = event.error ?? event.reason;
    this.#addLog(event.at, `task ${event.task_index} ${event.status}${why ? `: ${why}` : ""}`);
  }

  task(index: number): TaskLive {
    let task = this.tasks.get(index);
    if (!task) {
      task = {
        index,
        status: "QUEUED",
        epoch: 0,
        epochs: this.record?.spec.epochs ?? 1,
        loss: undefined,
        accuracy: undefined,
        attempt: 1,
        worker: "",
        error: undefined,
        loss_by_epoch: new Map(),
        accuracy_by_epoch: new Map(),
      };
      this.tasks.set(index, task);
    }
    return task;
  }

  /** A completed job completed every task, whichever events this page did not see. */
  #completeAll(record: JobRecord): void {
    for (let index = 0; index < record.total_tasks; index++) {
      const task = this.task(index);
      task.status = "COMPLETED";
      task.epoch = task.epochs;
    }
  }

  #addLog(at: string, text: string): void {
    this.log.unshift({ id: ++this.#logId, at, text });
    if (this.log.length > LOG_LINES) this.log.length = LOG_LINES;
  }

  #changed(): void {
    if (this.#frame !== 0) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0;
      this.#onChange();
    });
  }
}
