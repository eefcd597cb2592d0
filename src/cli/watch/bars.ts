import cliProgress, { type GenericBar, type Options, type Params } from "cli-progress";
import { fmtDuration, fmtLoss, fmtPercent, type Output, statusColor } from "../output.ts";
import type { JobProgress, TaskView } from "./job-progress.ts";

/** How a watch shows progress: redrawn bars on a terminal, lines elsewhere, JSON for scripts. */
export interface WatchView {
  /** Shows the progress as it is now. */
  update(progress: JobProgress): void;
  /** Draws the last frame and releases the terminal (cursor back, bars left on screen). */
  stop(progress: JobProgress): void;
}

/** Lines kept free under the bars: the job's line, the overflow line and the prompt. */
const RESERVED_ROWS = 3;
const BAR_CELLS = 24;

type Payload = { line: () => string };

/**
 * One bar per task (epoch of epochs, loss, accuracy, state) under the job's line, redrawn in place
 * by cli-progress at most 10 times a second. A job with more tasks than the terminal has rows
 * shows the first ones and one line counting the rest.
 */
export class BarsView implements WatchView {
  readonly #out: Output;
  readonly #bars: cliProgress.MultiBar;
  readonly #job: GenericBar;
  readonly #tasks: { index: number; bar: GenericBar }[] = [];
  #rest: GenericBar | undefined;
  #progress: JobProgress;
  readonly #startedMs = Date.now();

  constructor(out: Output, progress: JobProgress) {
    this.#out = out;
    this.#progress = progress;
    const options: Options = {
      stream: out.out,
      format: (_options: Options, _params: Params, payload: Payload) => payload.line(),
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      // We stop on SIGINT ourselves, after the last frame.
      gracefulExit: false,
      linewrap: false,
      fps: 10,
    };
    this.#bars = new cliProgress.MultiBar(options);
    this.#job = this.#bars.create(1, 0, { line: () => this.#jobLine() });
    const room = Math.max(1, out.rows - RESERVED_ROWS);
    const shown = progress.total <= room ? progress.total : room - 1;
    for (let index = 0; index < shown; index++) {
      const bar = this.#bars.create(1, 0, { line: () => this.#taskLine(index) });
      this.#tasks.push({ index, bar });
    }
    if (shown < progress.total) {
      this.#rest = this.#bars.create(1, 0, { line: () => this.#restLine(shown) });
    }
  }

  update(progress: JobProgress): void {
    this.#progress = progress;
    // The lines are read at each redraw; a value change makes cli-progress redraw at once.
    this.#job.update(progress.completed / Math.max(1, progress.total));
    for (const { index, bar } of this.#tasks) bar.update(shareOf(progress.task(index)));
    this.#rest?.update(progress.completed / Math.max(1, progress.total));
  }

  stop(progress: JobProgress): void {
    this.update(progress);
    this.#bars.stop();
  }

  #jobLine(): string {
    const p = this.#progress;
    const c = this.#out.color;
    const done = `${p.completed}/${p.total} tasks`;
    const failed = p.failed > 0 ? c.red(` ${p.failed} failed`) : "";
    const elapsed = fmtDuration(Date.now() - this.#startedMs);
    return `${c.bold(p.jobId)} ${p.name}  ${statusColor(p.status, c)}  ${done}${failed}  ${c.dim(elapsed)}`;
  }

  #taskLine(index: number): string {
    const task = this.#progress.task(index);
    const c = this.#out.color;
    const share = shareOf(task);
    const width = String(Math.max(0, this.#progress.total - 1)).length;
    const bar = drawBar(share, task.status === "FAILED" ? c.red : c.cyan, c.dim);
    const percent = `${Math.floor(share * 100)}%`.padStart(4);
    const epoch = `epoch ${task.epoch}/${task.epochs}`.padEnd(
      `epoch ${task.epochs}/${task.epochs}`.length,
    );
    const metrics = `loss ${fmtLoss(task.loss)}  acc ${fmtPercent(task.accuracy)}`;
    const retry = task.attempt > 1 ? c.yellow(` attempt ${task.attempt}`) : "";
    return `  task ${String(index).padStart(width)} ${bar} ${percent}  ${epoch}  ${metrics}  ${statusColor(task.status, c)}${retry}`;
  }

  #restLine(from: number): string {
    const p = this.#progress;
    let completed = 0;
    let running = 0;
    for (let index = from; index < p.total; index++) {
      const status = p.task(index).status;
      if (status === "COMPLETED") completed += 1;
      else if (status === "RUNNING") running += 1;
    }
    const count = p.total - from;
    return this.#out.color.dim(
      `  tasks ${from}–${p.total - 1} (${count} more): ${completed} completed, ${running} running`,
    );
  }
}

/** 0..1: epochs trained of the task's epochs (a completed task is full). */
function shareOf(task: TaskView): number {
  if (task.status === "COMPLETED") return 1;
  return Math.min(1, task.epoch / Math.max(1, task.epochs));
}

function drawBar(share: number, fill: (s: string) => string, rest: (s: string) => string): string {
  const full = Math.round(share * BAR_CELLS);
  return fill("█".repeat(full)) + rest("░".repeat(BAR_CELLS - full));
}
