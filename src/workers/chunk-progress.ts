import type { Clock } from "../clock.ts";
import type { ChunkTaskState } from "../contract/events.ts";

/** Per-epoch progress of a chunk's tasks goes out at most this often, in one event. */
export const PROGRESS_EVERY_MS = 250;

/**
 * Coalesces the per-epoch progress of a chunk's tasks: the newest state of each task that moved,
 * sent in one batch at most every `everyMs` — however many tasks and epochs a chunk runs, it
 * costs a few messages a second.
 */
export class ProgressCoalescer {
  readonly #pending = new Map<number, ChunkTaskState>();
  readonly #clock: Clock;
  readonly #everyMs: number;
  readonly #send: (tasks: ChunkTaskState[]) => void;
  #cancel: (() => void) | undefined;

  constructor(clock: Clock, send: (tasks: ChunkTaskState[]) => void, everyMs = PROGRESS_EVERY_MS) {
    this.#clock = clock;
    this.#send = send;
    this.#everyMs = everyMs;
  }

  add(state: ChunkTaskState): void {
    this.#pending.set(state.task_index, state);
    this.#cancel ??= this.#clock.schedule(() => this.flush(), this.#everyMs);
  }

  /** Sends what is pending now (also when the chunk ends, before its final event). */
  flush(): void {
    this.#cancel?.();
    this.#cancel = undefined;
    if (this.#pending.size === 0) return;
    const tasks = [...this.#pending.values()];
    this.#pending.clear();
    this.#send(tasks);
  }

  /** Drops what is pending (the chunk was cancelled). */
  close(): void {
    this.#cancel?.();
    this.#cancel = undefined;
    this.#pending.clear();
  }
}
