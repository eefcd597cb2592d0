import { pack, unpack } from "msgpackr";
import { InvalidTransitionError } from "../errors.ts";
import type { Bucket } from "../transport/ports.ts";
import type { JobRecord } from "./job-record.ts";
import { canTransitionJob, type JobState } from "./job-state.ts";

const MAX_CAS_TRIES = 20;
/** Records whose latest known revision is kept, so that their next change needs no read. */
const KNOWN = 4_096;

/** A record and the KV revision it was read at (the compare-and-set token). */
export interface Versioned<T> {
  value: T;
  revision: number;
}

export interface ListQuery {
  status?: JobState;
  user_id?: string;
  limit: number;
  /** The last job_id of the previous page. */
  cursor?: string;
}

/**
 * Job records in the jobs bucket (msgpack). Every change is a compare-and-set on the revision it
 * read, retried on conflict; a status change is checked against the transition table. The last
 * version this process read or wrote of each live record is kept: a job's actor is nearly always
 * its only writer, so its next change is tried on that version at once, a read saved; a version
 * gone stale only fails its compare-and-set, and the change is retried on a fresh read.
 */
export class JobStore {
  readonly #bucket: Bucket;
  readonly #known = new Map<string, Versioned<JobRecord>>();

  constructor(bucket: Bucket) {
    this.#bucket = bucket;
  }

  /** Writes a new record; false if the id exists already. */
  async create(record: JobRecord): Promise<boolean> {
    try {
      const revision = await this.#bucket.create(record.job_id, pack(record));
      if (revision === undefined) return false;
      this.#remember(record.job_id, { value: record, revision });
      return true;
    } catch (error) {
      // A write whose acknowledgement was lost may have landed: the record tells.
      if (await this.get(record.job_id)) return false;
      throw error;
    }
  }

  async get(jobId: string): Promise<Versioned<JobRecord> | undefined> {
    const entry = await this.#bucket.get(jobId);
    if (!entry) return undefined;
    const read = { value: unpack(entry.value) as JobRecord, revision: entry.revision };
    this.#remember(jobId, read);
    return read;
  }

  /**
   * Applies `change` to the latest record until the compare-and-set succeeds. `change` returns the
   * new record, or undefined to leave it as it is (for example when it is already terminal).
   * Resolves with the stored record (changed or not); undefined if there is no such job.
   */
  async update(
    jobId: string,
    change: (current: JobRecord) => JobRecord | undefined,
  ): Promise<JobRecord | undefined> {
    for (let attempt = 0; attempt < MAX_CAS_TRIES; attempt++) {
      // First on the version known here; a write that it proves stale is redone on a fresh read.
      const known = attempt === 0 ? this.#known.get(jobId) : undefined;
      const current = known ?? (await this.get(jobId));
      if (!current) return undefined;
      const next = change(structuredClone(current.value));
      if (!next) {
        if (!known) return current.value;
        continue; // "no change" decided on a version that may be stale: decide on the latest
      }
      if (
        next.status !== current.value.status &&
        !canTransitionJob(current.value.status, next.status)
      ) {
        throw new InvalidTransitionError("job", current.value.status, next.status);
      }
      const revision = await this.#bucket.update(jobId, pack(next), current.revision);
      if (revision !== undefined) {
        this.#remember(jobId, { value: next, revision });
        return next;
      }
      this.#known.delete(jobId);
    }
    throw new Error(`job ${jobId}: gave up after ${MAX_CAS_TRIES} conflicting updates`);
  }

  /** Newest first, filtered, one page at a time. */
  async list(query: ListQuery): Promise<{ jobs: JobRecord[]; next_cursor: string | null }> {
    const ids = (await this.#bucket.keys()).sort().reverse();
    const start =
      query.cursor === undefined ? 0 : ids.findIndex((id) => id < (query.cursor as string));
    const jobs: JobRecord[] = [];
    let next: string | null = null;
    for (let i = start; i >= 0 && i < ids.length; i++) {
      const record = await this.get(ids[i] as string);
      if (!record) continue;
      const job = record.value;
      if (query.status && job.status !== query.status) continue;
      if (query.user_id && job.user_id !== query.user_id) continue;
      if (jobs.length === query.limit) {
        next = jobs[jobs.length - 1]?.job_id ?? null;
        break;
      }
      jobs.push(job);
    }
    return { jobs, next_cursor: next };
  }

  #remember(jobId: string, version: Versioned<JobRecord>): void {
    this.#known.delete(jobId); // re-inserted as the newest
    this.#known.set(jobId, version);
    if (this.#known.size > KNOWN) {
      const oldest = this.#known.keys().next().value;
      if (oldest !== undefined) this.#known.delete(oldest);
    }
  }
}
