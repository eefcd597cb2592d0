import { createHash } from "node:crypto";
import type { Clock } from "../clock.ts";
import type { JobRecord } from "../jobs/job-record.ts";
import { isTerminalJobState } from "../jobs/job-state.ts";
import type { JobStore } from "../jobs/job-store.ts";
import type { Logger } from "../log.ts";
import type { BlobStore, Bucket, QueueIndex } from "../transport/ports.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const LEASE_KEY = "leases.retention";
/**
 * A removed queue-book entry's marker is dropped once this old: long after every follower heard
 * it (one that lost its line re-reads the whole book anyway).
 */
const QUEUE_MARKER_AGE_MS = 10 * 60_000;

/** What one clean-up removed. */
export interface RetentionCounts {
  jobs_removed: number;
  results_removed: number;
  artifacts_removed: number;
  idempotency_keys_removed: number;
  /** False when another process held the clean-up's lease: it cleans, this one did not. */
  ran: boolean;
}

export interface RetentionOptions {
  jobs: JobStore;
  /** The buckets a job leaves entries in, each keyed `<job_id>.…`. */
  scratch: { results: Bucket; checkpoints: Bucket; counts: Bucket };
  jobRecords: Bucket;
  idempotency: Bucket;
  artifacts: BlobStore;
  catalog: Bucket;
  /** The queue book, whose removal markers the clean-up drops. */
  queueBook: Pick<QueueIndex, "forgetRemoved">;
  /** RETENTION: jobs that ended longer ago than this are removed. */
  retentionMs: number;
  /** This process, as the lease names its holder. */
  holder: string;
  clock: Clock;
  log: Logger;
}

/** A lease as stored: who holds it, until when. */
interface LeaseValue {
  holder: string;
  until: number;
}

/**
 * Whether `holder` may take the lease now: it is free, expired, or already its own. Pure, so the
 * rule is tested apart from NATS.
 */
export function mayTakeLease(
  current: LeaseValue | undefined,
  holder: string,
  now: number,
): boolean {
  return current === undefined || current.until <= now || current.holder === holder;
}

/** How often the clean-up runs on its timer: a quarter of RETENTION, within a minute and an hour. */
export function retentionIntervalMs(retentionMs: number): number {
  return Math.min(Math.max(retentionMs / 4, 60_000), 3_600_000);
}

/**
 * Retention (DESIGN §5.1): the records, results, scratch state, artifacts and idempotency keys of
 * jobs that ended more than RETENTION ago are removed, by one process at a time (a lease in the
 * catalog bucket, compare-and-set), on a timer and on request. A removed job leaves a tombstone
 * (`cleaned.<job_id>`), so that its download answers 204, not 404. Data sets stay until deleted.
 * The queue book's markers of ended jobs go too, so that the book's stream holds live jobs only.
 */
export class Retention {
  readonly #o: RetentionOptions;
  #cancel: (() => void) | undefined;
  #running: Promise<RetentionCounts> | undefined;

  constructor(options: RetentionOptions) {
    this.#o = options;
  }

  start(): void {
    const every = retentionIntervalMs(this.#o.retentionMs);
    const tick = () => {
      this.#cancel = this.#o.clock.schedule(() => {
        this.run().then(
          () => tick(),
          (error: unknown) => {
            this.#o.log.warn({ err: error }, "retention clean-up failed; trying again later");
            tick();
          },
        );
      }, every);
    };
    tick();
  }

  close(): void {
    this.#cancel?.();
    this.#cancel = undefined;
  }

  /** Runs the clean-up now (one at a time in this process, under the lease across processes). */
  run(): Promise<RetentionCounts> {
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #run(): Promise<RetentionCounts> {
    const counts: RetentionCounts = {
      jobs_removed: 0,
      results_removed: 0,
      artifacts_removed: 0,
      idempotency_keys_removed: 0,
      ran: false,
    };
    if (!(await this.#takeLease())) return counts;
    counts.ran = true;
    const cutoff = this.#o.clock.now() - this.#o.retentionMs;
    for (const jobId of await this.#o.jobRecords.keys()) {
      const stored = await this.#o.jobs.get(jobId);
      if (!stored || !expired(stored.value, cutoff)) continue;
      await this.#remove(stored.value, counts);
    }
    const markers = await this.#o.queueBook.forgetRemoved(
      this.#o.clock.now() - QUEUE_MARKER_AGE_MS,
    );
    if (markers > 0) this.#o.log.debug({ markers }, "queue book markers dropped");
    return counts;
  }

  async #remove(job: JobRecord, counts: RetentionCounts): Promise<void> {
    const { scratch, artifacts, idempotency, catalog, jobRecords } = this.#o;
    const id = job.job_id;
    counts.results_removed += (await scratch.results.keys(`${id}.>`)).length;
    await Promise.all(Object.values(scratch).map((bucket) => bucket.purge(`${id}.>`)));
    for (const artifact of await artifacts.list(`${id}/`)) {
      if (await artifacts.delete(artifact.name)) counts.artifacts_removed++;
    }
    const key = job.spec.idempotency_key;
    if (key !== undefined) {
      const hashed = createHash("sha256").update(key).digest("hex");
      // Only the key's own job's: a later job may have claimed it since.
      const entry = await idempotency.get(hashed);
      if (entry && decoder.decode(entry.value) === id) {
        await idempotency.purge(hashed);
        counts.idempotency_keys_removed++;
      }
    }
    const tombstone = {
      job_id: id,
      status: job.status,
      cleaned_at: new Date(this.#o.clock.now()).toISOString(),
    };
    await catalog.put(`cleaned.${id}`, encoder.encode(JSON.stringify(tombstone)));
    await jobRecords.purge(id);
    counts.jobs_removed++;
  }

  /** Takes (or renews) the lease for one interval; false when another process holds it. */
  async #takeLease(): Promise<boolean> {
    const { catalog, holder, clock } = this.#o;
    const now = clock.now();
    const value = encoder.encode(
      JSON.stringify({ holder, until: now + retentionIntervalMs(this.#o.retentionMs) }),
    );
    const entry = await catalog.get(LEASE_KEY);
    if (!entry) return (await catalog.create(LEASE_KEY, value)) !== undefined;
    const current = JSON.parse(decoder.decode(entry.value)) as LeaseValue;
    if (!mayTakeLease(current, holder, now)) return false;
    return (await catalog.update(LEASE_KEY, value, entry.revision)) !== undefined;
  }
}

function expired(job: JobRecord, cutoff: number): boolean {
  return (
    isTerminalJobState(job.status) &&
    job.finished_at !== null &&
    Date.parse(job.finished_at) <= cutoff
  );
}
