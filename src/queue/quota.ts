import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import { isWrongRevision, type KV } from "../transport/kv.ts";

const encoder = new TextEncoder();

/** A held quota slot: keep it alive while the task runs, release it after. */
export interface QuotaSlot {
  release(): Promise<void>;
}

export interface QuotaOptions {
  /** The quota bucket; its TTL is the lease, so a dead holder's slot frees itself. */
  kv: KV;
  /** Running tasks allowed per user across the cluster. */
  limit: number;
  /** How often a held slot is refreshed (well inside the bucket's TTL). */
  refreshMs: number;
  clock: Clock;
  log: Logger;
}

/**
 * A cluster-wide counting semaphore per user on KV: slot keys `<user>.0` … `<user>.<limit-1>`,
 * taken with `create` (first writer wins) and refreshed while held. No process counts anything:
 * the bucket is the truth, and a crashed holder's slot expires with the bucket's TTL.
 */
export class UserQuota {
  readonly #o: QuotaOptions;

  constructor(options: QuotaOptions) {
    this.#o = options;
  }

  /** Takes a free slot of `userId` for `holder`, or resolves undefined when all are taken. */
  async tryAcquire(userId: string, holder: string): Promise<QuotaSlot | undefined> {
    for (let slot = 0; slot < this.#o.limit; slot++) {
      const key = `${userId}.${slot}`;
      try {
        const revision = await this.#o.kv.create(key, encoder.encode(holder));
        return this.#held(key, holder, revision);
      } catch (error) {
        if (!isWrongRevision(error)) throw error;
        // Still ours from before (the holder's process restarted it): taken over, not taken twice.
        const entry = await this.#o.kv.get(key);
        if (entry?.operation === "PUT" && entry.string() === holder) {
          return this.#held(key, holder, entry.revision);
        }
      }
    }
    return undefined;
  }

  #held(key: string, holder: string, firstRevision: number): QuotaSlot {
    const { kv, clock, log, refreshMs } = this.#o;
    let revision = firstRevision;
    let released = false;
    let refreshing: Promise<void> = Promise.resolve();
    let cancel = clock.schedule(refresh, refreshMs);
    function refresh() {
      refreshing = kv.update(key, encoder.encode(holder), revision).then(
        (next) => {
          revision = next;
          if (!released) cancel = clock.schedule(refresh, refreshMs);
        },
        (error) => log.warn({ err: error, key }, "quota slot lost; the task keeps running"),
      );
    }
    return {
      release: async () => {
        if (released) return;
        released = true;
        cancel();
        await refreshing;
        try {
          await kv.delete(key, { previousSeq: revision });
        } catch (error) {
          // Expired and taken by someone else already: theirs now.
          if (!isWrongRevision(error)) throw error;
        }
      },
    };
  }
}
