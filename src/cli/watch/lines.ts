import { fmtLoss, fmtPercent, type Output } from "../output.ts";
import type { WatchView } from "./bars.ts";
import type { JobProgress } from "./job-progress.ts";

/**
 * A watch for a log or a pipe (stdout is not a terminal): one plain line per change of the job's
 * state and of each task's state — no redraws, no per-epoch noise.
 */
export class LinesView implements WatchView {
  readonly #out: Output;
  #jobStatus = "";
  readonly #taskStatus = new Map<number, string>();

  constructor(out: Output) {
    this.#out = out;
  }

  update(progress: JobProgress): void {
    if (progress.status !== this.#jobStatus) {
      this.#jobStatus = progress.status;
      this.#out.line(
        `${progress.jobId} ${progress.status} ${progress.completed}/${progress.total} tasks`,
      );
    }
    for (const [index, task] of progress.tasks) {
      if (this.#taskStatus.get(index) === task.status) continue;
      this.#taskStatus.set(index, task.status);
      const detail =
        task.status === "COMPLETED"
          ? `: loss ${fmtLoss(task.loss)}, accuracy ${fmtPercent(task.accuracy)}`
          : task.error && (task.status === "FAILED" || task.status === "RETRYING")
            ? `: ${task.error}`
            : "";
      this.#out.line(`  task ${index} ${task.status} (attempt ${task.attempt})${detail}`);
    }
  }

  stop(progress: JobProgress): void {
    this.update(progress);
  }
}

/** `--json`: the events themselves are printed as they arrive; the view has nothing to add. */
export class SilentView implements WatchView {
  update(): void {}
  stop(): void {}
}
