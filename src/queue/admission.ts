import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { KV } from "../transport/kv.ts";
import type { QueueEntry } from "../transport/ports.ts";
import { queueOrder } from "./queue-book.ts";
import { type QuotaSlot, UserQuota } from "./quota.ts";

/** Job-level quotas (DESIGN §5.3, seed 002). */
export interface JobLimits {
  /** Running jobs allowed cluster-wide (MAX_CONCURRENT_JOBS); undefined: no cap. */
  maxConcurrentJobs: number | undefined;
  /** Running jobs allowed per user, by service (SERVICE_<NAME>_RUNS_PER_USER). */
  servicePerUser: ReadonlyMap<string, number>;
}

type HeldReason = NonNullable<QueueEntry["held"]>;

/** One semaphore a job must hold to run: its KV key base, its size, and what waiting on it means. */
export interface Limit {
  /** Slot keys are `<base>.<i>`: tokens no user id can form (`_run.jobs`, `_svc.<service>.<user>`). */
  base: string;
  size: number;
  reason: HeldReason;
}

/** The limits that apply to a job (none: it never waits for a quota). */
export function limitsFor(
  entry: Pick<QueueEntry, "user_id" | "service">,
  limits: JobLimits,
): Limit[] {
  const applying: Limit[] = [];
  const perUser = limits.servicePerUser.get(entry.service);
  if (perUser !== undefined) {
    applying.push({
      base: `_svc.${entry.service}.${entry.user_id}`,
      size: perUser,
      reason: "service_quota",
    });
  }
  if (limits.maxConcurrentJobs !== undefined) {
    applying.push({
      base: "_run.jobs",
      size: limits.maxConcurrentJobs,
      reason: "max_concurrent_jobs",
    });
  }
  return applying;
}

/**
 * Whether a job waiting for a quota ahead of `entry` (in queue order: priority, then age) would
 * take the slot `entry` wants: one held by the cluster-wide cap competes with everyone, one held by
 * a service quota only with the same user's jobs of that service. Over-quota jobs so go out in
 * priority order, and a user over a service quota does not hold anyone else up.
 */
export function waitsBehind(
  entry: QueueEntry,
  queued: Iterable<QueueEntry>,
  limits: JobLimits,
): boolean {
  for (const other of queued) {
    if (other.job_id === entry.job_id || other.held === undefined) continue;
    // Both compared as waiting for a quota (the one asking may not be held yet).
    if (queueOrder({ ...other, held: undefined }, { ...entry, held: undefined }) >= 0) continue;
    if (other.held === "max_concurrent_jobs" && limits.maxConcurrentJobs !== undefined) return true;
    if (
      other.held === "service_quota" &&
      other.user_id === entry.user_id &&
      other.service === entry.service
    ) {
      return true;
    }
  }
  return false;
}

export interface AdmissionOptions {
  /** The quota bucket (its TTL frees the slots of a dead holder). */
  kv: KV;
  limits: JobLimits;
  /** Held slots are refreshed this often (well inside the bucket's TTL). */
  refreshMs: number;
  clock: Clock;
  log: Logger;
}

/** The outcome of asking to run: the slots held, or the quota the job waits for. */
export type Admitted = { slots: QuotaSlot[] } | { held: HeldReason };

/**
 * Takes the job-level quota slots a job needs to run, all or none, from cluster-wide KV
 * semaphores (quota.ts) keyed by the job id: a job's new owner takes its slots over.
 */
export class Admission {
  readonly #o: AdmissionOptions;
  readonly #semaphores = new Map<string, UserQuota>();

  constructor(options: AdmissionOptions) {
    this.#o = options;
  }

  get limits(): JobLimits {
    return this.#o.limits;
  }

  /** True when some quota applies to the job. */
  applies(entry: Pick<QueueEntry, "user_id" | "service">): boolean {
    return limitsFor(entry, this.#o.limits).length > 0;
  }

  async tryAdmit(entry: QueueEntry): Promise<Admitted> {
    const slots: QuotaSlot[] = [];
    for (const limit of limitsFor(entry, this.#o.limits)) {
      const slot = await this.#semaphore(limit.size).tryAcquire(limit.base, entry.job_id);
      if (!slot) {
        await releaseAll(slots);
        return { held: limit.reason };
      }
      slots.push(slot);
    }
    return { slots };
  }

  #semaphore(size: number): UserQuota {
    const key = String(size);
    let semaphore = this.#semaphores.get(key);
    if (!semaphore) {
      const { kv, refreshMs, clock, log } = this.#o;
      semaphore = new UserQuota({ kv, limit: size, refreshMs, clock, log });
      this.#semaphores.set(key, semaphore);
    }
    return semaphore;
  }
}

export async function releaseAll(slots: readonly QuotaSlot[]): Promise<void> {
  await Promise.allSettled(slots.map((slot) => slot.release()));
}
