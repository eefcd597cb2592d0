import type { ChunkRecord, TaskOutcome } from "../workers/chunk-message.ts";
import type { JobRecord } from "./job-record.ts";

export type Counts = Pick<
  JobRecord,
  "completed_tasks" | "failed_tasks" | "running_tasks" | "progress" | "retries" | "metrics"
>;

/**
 * What a job actor knows of its tasks: each task's outcome (once), the tasks running now, the
 * retries seen live, the chunk generations read. Pure: the actor feeds it events and records and
 * writes `counts()` to the job record.
 */
export class JobTally {
  readonly #total: number;
  readonly #outcomes = new Map<number, TaskOutcome>();
  /** `<chunk>.<generation>` of every record seen. */
  readonly #records = new Set<string>();
  readonly #running = new Set<number>();
  #liveRetries = 0;
  /** A chunk was delivered more than once: it may have left delivery counts to purge. */
  #countsWritten = false;

  constructor(totalTasks: number) {
    this.#total = totalTasks;
  }

  get finished(): number {
    return this.#outcomes.size;
  }

  get complete(): boolean {
    return this.#outcomes.size >= this.#total;
  }

  get countsWritten(): boolean {
    return this.#countsWritten;
  }

  outcomes(): IterableIterator<TaskOutcome> {
    return this.#outcomes.values();
  }

  /** Every final outcome with its task index, in task order. */
  outcomesByTask(): [number, TaskOutcome][] {
    return [...this.#outcomes].sort(([a], [b]) => a - b);
  }

  /** Training time of the outcomes recorded so far, seconds. */
  trainedSeconds(): number {
    let ms = 0;
    for (const outcome of this.#outcomes.values()) ms += outcome.duration_ms;
    return ms / 1000;
  }

  /** The task has its outcome (completed, or failed for good). */
  hasOutcome(taskIndex: number): boolean {
    return this.#outcomes.has(taskIndex);
  }

  hasRecord(chunk: number, generation: number): boolean {
    return this.#records.has(`${chunk}.${generation}`);
  }

  /** A task changed state (from its events); false when nothing the record shows changed. */
  onTaskState(index: number, status: string): boolean {
    switch (status) {
      case "RUNNING":
        this.#running.add(index);
        return true;
      case "RETRYING":
        this.#running.delete(index);
        this.#liveRetries += 1;
        return true;
      case "QUEUED": // handed back by a draining worker: not a retry, it simply waits again
        this.#running.delete(index);
        return true;
      case "COMPLETED":
      case "FAILED": // the outcome itself comes with the chunk's record
        if (!this.#outcomes.has(index)) this.#running.delete(index);
        return true;
      default:
        return false;
    }
  }

  /**
   * A chunk generation's record: returns the outcomes it brings that were not known (in task
   * order), or undefined when the record was seen already.
   */
  onRecord(chunk: number, record: ChunkRecord): [number, TaskOutcome][] | undefined {
    const seen = `${chunk}.${record.generation}`;
    if (this.#records.has(seen)) return undefined;
    this.#records.add(seen);
    if (record.redelivered) this.#countsWritten = true;
    for (const retry of record.retry) this.#running.delete(retry.task_index);
    const fresh: [number, TaskOutcome][] = [];
    for (const [key, outcome] of Object.entries(record.outcomes)) {
      const index = Number(key);
      if (this.#outcomes.has(index)) continue;
      this.#outcomes.set(index, outcome);
      this.#running.delete(index);
      fresh.push([index, outcome]);
    }
    return fresh;
  }

  /** The record's counters as these outcomes make them; `metrics` kept when none has any. */
  counts(metrics: JobRecord["metrics"]): Counts {
    let completed = 0;
    let failed = 0;
    let retries = 0;
    let samples = 0;
    let loss = 0;
    let accuracy = 0;
    for (const outcome of this.#outcomes.values()) {
      retries += outcome.attempt - 1;
      if (outcome.status === "FAILED") failed += 1;
      else completed += 1;
      if (outcome.metrics) {
        const weight = outcome.metrics.train_samples || 1;
        samples += weight;
        loss += outcome.metrics.heldout_loss * weight;
        accuracy += outcome.metrics.accuracy * weight;
      }
    }
    return {
      completed_tasks: completed,
      failed_tasks: failed,
      running_tasks: this.#running.size,
      progress: this.#total === 0 ? 1 : completed / this.#total,
      retries: Math.max(retries, this.#liveRetries),
      metrics: samples > 0 ? { loss: loss / samples, accuracy: accuracy / samples } : metrics,
    };
  }
}

/**
 * The record with these counts — unless the stored ones have seen more outcomes. Two owners can
 * follow one job for a while (a lease that expired during a NATS outage went to another
 * process), and the one still catching up must not write its smaller counts over the other's.
 */
export function withCounts(job: JobRecord, counts: Counts): JobRecord {
  const seen = counts.completed_tasks + counts.failed_tasks;
  const stored = job.completed_tasks + job.failed_tasks;
  return seen < stored ? { ...job, running_tasks: counts.running_tasks } : { ...job, ...counts };
}
