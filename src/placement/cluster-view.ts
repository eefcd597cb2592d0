import { unpack } from "msgpackr";
import type { Clock } from "../clock.ts";
import type { ResourceClass } from "../contract/resources.ts";
import type { ClassLanes, WorkerIndex } from "../transport/ports.ts";
import { type WorkerRecord, workerFate } from "../workers/worker-record.ts";
import { capacityOf } from "./availability.ts";
import type { WorkerCapacity } from "./resources.ts";

export interface ClusterViewOptions {
  workers: WorkerIndex;
  classes: ClassLanes;
  /** WORKER_TIMEOUT: a record silent longer is gone even if nobody removed it. */
  workerTimeoutMs: number;
  /** This process's worker serves only some services (known before its record is seen). */
  selfRestricted: boolean;
  clock: Clock;
}

/**
 * This process's view of the cluster for placement: the live workers' capacity and use (from
 * their records, followed through a watch) and the resource classes registered so far. One per
 * process, shared by its dispatcher and its job actors.
 */
export class ClusterView {
  readonly #o: ClusterViewOptions;
  readonly #records = new Map<string, WorkerRecord>();
  readonly #classes = new Map<string, ResourceClass>();
  readonly #listeners = new Set<() => void>();
  readonly #stops: (() => void)[] = [];

  constructor(options: ClusterViewOptions) {
    this.#o = options;
  }

  start(): void {
    if (this.#stops.length > 0) return;
    this.#stops.push(
      this.#o.workers.follow(
        (workerId, bytes) => {
          if (bytes) this.#records.set(workerId, unpack(bytes) as WorkerRecord);
          else this.#records.delete(workerId);
          this.#changed();
        },
        () => this.#records.clear(),
      ),
      this.#o.classes.follow((key, resourceClass) => {
        this.#classes.set(key, resourceClass);
        this.#changed();
      }),
    );
  }

  close(): void {
    for (const stop of this.#stops.splice(0)) stop();
    this.#listeners.clear();
  }

  /** The workers that take tasks now: live by their heartbeat, and not draining. */
  live(): WorkerCapacity[] {
    const now = this.#o.clock.now();
    const live: WorkerCapacity[] = [];
    for (const record of this.#records.values()) {
      if (record.status === "DRAINING" || record.status === "STALE") continue;
      if (workerFate(record, now, this.#o.workerTimeoutMs) !== "live") continue;
      live.push(capacityOf(record));
    }
    return live;
  }

  /** True when some live worker takes only some services: every task must then say its service. */
  routesByService(): boolean {
    return this.#o.selfRestricted || this.live().some((worker) => worker.services !== null);
  }

  classes(): ReadonlyMap<string, ResourceClass> {
    return this.#classes;
  }

  /** Calls `listener` whenever a worker record or a class changes; returns how to stop. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }
}
