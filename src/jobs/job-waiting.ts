import type { JobEvent } from "../contract/events.ts";
import type { EventSink, JobEventFeed } from "../transport/ports.ts";
import { jobEventOf } from "./gateway.ts";
import { type DependencyVerdict, dependencyVerdict } from "./job-dependencies.ts";
import type { JobRecord } from "./job-record.ts";
import { isTerminalJobState, JOB_STATES, type JobState } from "./job-state.ts";
import type { JobStore } from "./job-store.ts";

/**
 * What a job actor knows of the jobs its job waits for: each one's state, from their events as
 * they come (a dependent is queued within one event of its last dependency ending) and from their
 * records when the actor re-reads them (at start, on each tick, when dependencies are added), so
 * a lost event delays a dependent by one tick at most, never strands it.
 */
export class JobWaiting {
  readonly #store: JobStore;
  readonly #feed: JobEventFeed;
  readonly #events: EventSink;
  readonly #onEvent: (event: JobEvent) => void;
  readonly #states = new Map<string, JobState | undefined>();
  readonly #unfollow = new Map<string, () => void>();

  constructor(
    deps: { store: JobStore; jobEvents: JobEventFeed; events: EventSink },
    onEvent: (event: JobEvent) => void,
  ) {
    this.#store = deps.store;
    this.#feed = deps.jobEvents;
    this.#events = deps.events;
    this.#onEvent = onEvent;
  }

  /**
   * The verdict on `record`'s dependencies. Follows any dependency not followed yet (before
   * reading it, so that nothing falls between); with `read`, reads every dependency's record.
   */
  async check(record: JobRecord, read: boolean): Promise<DependencyVerdict> {
    const ids = record.spec.depends_on ?? [];
    for (const id of ids) {
      if (this.#unfollow.has(id)) continue;
      this.#unfollow.set(id, this.#feed.follow(id, this.#onEvent));
      read = true;
    }
    if (read) {
      const records = await Promise.all(ids.map((id) => this.#store.get(id)));
      ids.forEach((id, i) => {
        this.#states.set(id, records[i]?.value.status);
      });
    }
    return dependencyVerdict(record.spec.dependency_type ?? "all_complete", this.#states);
  }

  /** A dependency's announced state; an older announcement never undoes an end already seen. */
  heard(event: JobEvent): void {
    const known = this.#states.get(event.job_id);
    if (!this.#states.has(event.job_id) || (known && isTerminalJobState(known))) return;
    const status = JOB_STATES.find((state) => state === event.status);
    if (status) this.#states.set(event.job_id, status);
  }

  /** SUBMITTED → WAITING in the record (and announced), once; the record as it now is. */
  async markWaiting(record: JobRecord): Promise<JobRecord> {
    if (record.status !== "SUBMITTED") return record;
    const updated = await this.#store.update(record.job_id, (job) =>
      job.status === "SUBMITTED" ? { ...job, status: "WAITING" } : undefined,
    );
    if (updated?.status === "WAITING") this.#events.job(jobEventOf(updated));
    return updated ?? record;
  }

  close(): void {
    for (const unfollow of this.#unfollow.values()) unfollow();
    this.#unfollow.clear();
  }
}
