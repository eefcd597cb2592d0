import type { JobSignals } from "../transport/ports.ts";

/** How many ended job ids a process remembers, to skip their tasks it may still pull. */
const REMEMBERED = 10_000;

/** Why a running task was aborted. */
export type AbortReason = "job-ended" | "stopping" | "timeout" | "paused";

/** The reason carried by a task's AbortSignal. */
export class TaskAbort extends Error {
  readonly reason: AbortReason;

  constructor(reason: AbortReason) {
    super(`task aborted: ${reason}`);
    this.name = "TaskAbort";
    this.reason = reason;
  }
}

/**
 * Job aborts, process-wide: when a job is cancelled, times out or fails, every process aborts the
 * job's running tasks (`<prefix>.internal.abort.<job_id>`) and skips any it pulls later.
 */
export class JobAborts {
  readonly #running = new Map<string, Set<AbortController>>();
  readonly #ended = new Set<string>();
  readonly #unsubscribe: () => void;
  readonly #unsubscribePause: () => void;

  constructor(signals: Pick<JobSignals, "onAbort" | "onPause">) {
    this.#unsubscribe = signals.onAbort((jobId) => this.abortJob(jobId));
    this.#unsubscribePause = signals.onPause((jobId) => this.pauseJob(jobId));
  }

  hasEnded(jobId: string): boolean {
    return this.#ended.has(jobId);
  }

  /** Registers a running task's controller; the returned function unregisters it. */
  track(jobId: string, controller: AbortController): () => void {
    let set = this.#running.get(jobId);
    if (!set) {
      set = new Set();
      this.#running.set(jobId, set);
    }
    set.add(controller);
    return () => {
      set.delete(controller);
      if (set.size === 0) this.#running.delete(jobId);
    };
  }

  abortJob(jobId: string): void {
    this.#ended.add(jobId);
    if (this.#ended.size > REMEMBERED) {
      const oldest = this.#ended.values().next().value;
      if (oldest !== undefined) this.#ended.delete(oldest);
    }
    for (const controller of this.#running.get(jobId) ?? [])
      controller.abort(new TaskAbort("job-ended"));
  }

  /** Stops the job's running tasks (their checkpoints kept); its later chunks still run. */
  pauseJob(jobId: string): void {
    for (const controller of this.#running.get(jobId) ?? [])
      controller.abort(new TaskAbort("paused"));
  }

  close(): void {
    this.#unsubscribe();
    this.#unsubscribePause();
  }
}
