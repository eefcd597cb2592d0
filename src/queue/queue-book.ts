import type { Clock } from "../clock.ts";
import { PRIORITIES, type Priority } from "../contract/priorities.ts";
import type { QueueEntry, QueueIndex } from "../transport/ports.ts";

/** Job starts older than this no longer count towards the start rate. */
const RATE_WINDOW_MS = 120_000;
/** At most this many recent starts are kept for the rate. */
const RATE_STARTS = 256;

/** Queued before `b` (priority lane first, then released before held, then order, then id). */
export function queueOrder(a: QueueEntry, b: QueueEntry): number {
  return (
    PRIORITIES.indexOf(a.priority) - PRIORITIES.indexOf(b.priority) ||
    Number(a.held !== undefined) - Number(b.held !== undefined) ||
    a.order - b.order ||
    (a.job_id < b.job_id ? -1 : a.job_id > b.job_id ? 1 : 0)
  );
}

/**
 * This process's view of the queue book: every live job's entry (followed from the shared KV
 * bucket), so that a job's place in the queue, the queue's shape and the recent rate of job
 * starts are answered from memory. Pure apart from `follow`: tests feed `apply` directly.
 */
export class QueueBook {
  readonly #entries = new Map<string, QueueEntry>();
  /** When jobs were seen to leave the queue (QUEUED → RUNNING), oldest first. */
  readonly #starts: number[] = [];
  readonly #clock: Clock;
  #stop: (() => void) | undefined;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Follows the shared book until `close`. */
  follow(index: QueueIndex): void {
    this.#stop ??= index.follow(
      (jobId, entry) => this.apply(jobId, entry),
      () => this.#entries.clear(),
    );
  }

  close(): void {
    this.#stop?.();
  }

  apply(jobId: string, entry: QueueEntry | undefined): void {
    const before = this.#entries.get(jobId);
    if (before?.status === "QUEUED" && entry?.status === "RUNNING") this.#started();
    if (entry) this.#entries.set(jobId, entry);
    else this.#entries.delete(jobId);
  }

  get(jobId: string): QueueEntry | undefined {
    return this.#entries.get(jobId);
  }

  entries(): IterableIterator<QueueEntry> {
    return this.#entries.values();
  }

  /** Jobs waiting to start, first first. */
  queued(): QueueEntry[] {
    return [...this.#entries.values()].filter((e) => e.status === "QUEUED").sort(queueOrder);
  }

  /** Queued jobs of one priority, first first. */
  lane(priority: Priority): QueueEntry[] {
    return this.queued().filter((e) => e.priority === priority);
  }

  /** A queued job's place (1 = starts next); undefined when it is not queued. */
  position(jobId: string): number | undefined {
    const at = this.queued().findIndex((e) => e.job_id === jobId);
    return at < 0 ? undefined : at + 1;
  }

  /** The place a job of `priority` queued now would take. */
  positionOfNew(priority: Priority): number {
    const rank = PRIORITIES.indexOf(priority);
    return this.queued().filter((e) => PRIORITIES.indexOf(e.priority) <= rank).length + 1;
  }

  /**
   * When a job at `position` should start, from the recent starts (ISO 8601): one every median
   * interval between them (a cold first job does not skew it), less the part of the current
   * interval already gone (at most one); null before two starts were seen.
   */
  estimatedStart(position: number): string | null {
    const now = this.#clock.now();
    while (this.#starts.length > 0 && (this.#starts[0] as number) < now - RATE_WINDOW_MS) {
      this.#starts.shift();
    }
    const first = this.#starts[0];
    const last = this.#starts.at(-1);
    if (first === undefined || last === undefined || this.#starts.length < 2) return null;
    const gaps = this.#starts.slice(1).map((at, i) => at - (this.#starts[i] as number));
    gaps.sort((a, b) => a - b);
    const interval = Math.max(1, gaps[Math.floor(gaps.length / 2)] as number);
    const gone = Math.min(now - last, interval);
    const waitMs = Math.max(position * interval - gone, interval / 2);
    return new Date(now + waitMs).toISOString();
  }

  #started(): void {
    this.#starts.push(this.#clock.now());
    if (this.#starts.length > RATE_STARTS) this.#starts.shift();
  }
}
