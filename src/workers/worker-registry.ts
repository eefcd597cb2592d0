import { randomBytes } from "node:crypto";
import { availableParallelism, hostname, totalmem } from "node:os";
import { pack, unpack } from "msgpackr";
import type { Clock } from "../clock.ts";
import type { Resources } from "../contract/resources.ts";
import type { Logger } from "../log.ts";
import { NO_RESOURCES } from "../placement/resources.ts";
import type { EventPublisher } from "../transport/events.ts";
import { isWrongRevision, type KV } from "../transport/kv.ts";
import { type WorkerCapabilities, type WorkerRecord, workerFate } from "./worker-record.ts";

/** Task start/end changes are written at most this often (the heartbeat writes the rest). */
const ACTIVITY_FLUSH_MS = 250;

export interface WorkerRegistryOptions {
  kv: KV;
  /** The bucket's keys (`kvKeys` in transport/kv.ts: not `kv.keys()`, which leaves a consumer behind). */
  listKeys(): Promise<string[]>;
  events: EventPublisher;
  capabilities: WorkerCapabilities;
  heartbeatIntervalMs: number;
  workerTimeoutMs: number;
  /** WORKER_ID; @default a new one (`newWorkerId()`) */
  workerId?: string | undefined;
  clock: Clock;
  log: Logger;
}

/** This process's own worker, as its `/health` tells it. */
export interface LocalWorker {
  readonly workerId: string;
  /** The record as last written (counters, status, use). */
  snapshot(): WorkerRecord;
  /** When a heartbeat last reached the bucket (ms); undefined before the first. */
  lastHeartbeatAt(): number | undefined;
}

/**
 * How a task's run on this worker ended, as its counters see it: `COMPLETED` (result recorded),
 * `FAILED` (its last attempt failed: the task failed), `CANCELLED` (its job ended under it),
 * `RETRYING` (an attempt failed and the task is queued again) or `HANDED_BACK` (given back
 * unharmed, no attempt spent: the worker is draining). Hand-backs are not counted.
 */
export type TaskEnd = "COMPLETED" | "FAILED" | "CANCELLED" | "RETRYING" | "HANDED_BACK";

const COUNTER_OF = {
  COMPLETED: "tasks_completed",
  FAILED: "tasks_failed",
  CANCELLED: "tasks_cancelled",
  RETRYING: "tasks_retried",
  HANDED_BACK: undefined,
} as const satisfies Record<TaskEnd, keyof WorkerRecord | undefined>;

/** A process's worker id: host, pid and a random suffix, usable as a subject token. */
export function newWorkerId(): string {
  const host = hostname()
    .replace(/[^A-Za-z0-9_-]/g, "-")
    .slice(0, 40);
  return `${host}-${process.pid}-${randomBytes(3).toString("hex")}`;
}

/**
 * This process's worker: registers it, heartbeats every `heartbeatIntervalMs` (with CPU and
 * memory use), tracks its running tasks, and on every heartbeat marks peers that missed two
 * heartbeats STALE and removes those silent for `workerTimeoutMs` (see `workerFate`). Any live
 * worker may do it, and whoever lists does it too (`readAll`): no leader.
 */
export class WorkerRegistry implements LocalWorker {
  readonly workerId: string;
  readonly #o: WorkerRegistryOptions;
  #lastHeartbeatAt: number | undefined;
  readonly #running = new Set<string>();
  #record: WorkerRecord;
  #cpu = process.cpuUsage();
  #cpuAt: number;
  #cancelHeartbeat: (() => void) | undefined;
  #cancelFlush: (() => void) | undefined;
  #draining = false;
  #closed = false;

  constructor(options: WorkerRegistryOptions) {
    this.#o = options;
    this.workerId = options.workerId ?? newWorkerId();
    this.#cpuAt = options.clock.now();
    const at = new Date(this.#cpuAt).toISOString();
    this.#record = {
      worker_id: this.workerId,
      status: "IDLE",
      hostname: hostname(),
      pid: process.pid,
      capabilities: options.capabilities,
      current_task_ids: [],
      allocated: NO_RESOURCES,
      tasks_completed: 0,
      tasks_failed: 0,
      tasks_cancelled: 0,
      tasks_retried: 0,
      cpu_usage: 0,
      memory_usage: 0,
      last_activity_time: at,
      started_at: at,
      heartbeat_interval_ms: options.heartbeatIntervalMs,
      worker_timeout_ms: options.workerTimeoutMs,
    };
  }

  snapshot(): WorkerRecord {
    return { ...this.#record, current_task_ids: [...this.#running] };
  }

  lastHeartbeatAt(): number | undefined {
    return this.#lastHeartbeatAt;
  }

  async start(): Promise<void> {
    await this.#write();
    this.#o.events.worker({
      event: "registered",
      worker_id: this.workerId,
      status: this.#record.status,
    });
    this.#o.log.info({ workerId: this.workerId }, "worker registered");
    this.#scheduleHeartbeat();
  }

  /** What this worker's running chunks hold now (written with the next flush). */
  allocated(resources: Resources): void {
    this.#record.allocated = resources;
    this.#scheduleFlush();
  }

  taskStarted(taskId: string): void {
    this.#running.add(taskId);
    this.#scheduleFlush();
  }

  /** The task left this worker; `end` says which counter, if any, it adds to. */
  taskEnded(taskId: string, end: TaskEnd): void {
    if (!this.#running.delete(taskId)) return;
    const counter = COUNTER_OF[end];
    if (counter) this.#record[counter] += 1;
    this.#scheduleFlush();
  }

  /** Marks this worker DRAINING (it takes no new tasks) and says so at once. */
  async drain(): Promise<void> {
    this.#draining = true;
    await this.#write();
    this.#o.events.worker({ event: "draining", worker_id: this.workerId, status: "DRAINING" });
  }

  /** Stops heartbeating and removes the record: the worker is gone. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancelHeartbeat?.();
    this.#cancelFlush?.();
    try {
      await this.#o.kv.delete(this.workerId);
    } finally {
      this.#o.events.worker({ event: "gone", worker_id: this.workerId, status: "DRAINING" });
    }
  }

  #scheduleHeartbeat(): void {
    this.#cancelHeartbeat = this.#o.clock.schedule(() => {
      void this.#heartbeat().finally(() => {
        if (!this.#closed) this.#scheduleHeartbeat();
      });
    }, this.#o.heartbeatIntervalMs);
  }

  async #heartbeat(): Promise<void> {
    try {
      await this.#write();
      this.#o.events.worker({
        event: "heartbeat",
        worker_id: this.workerId,
        status: this.#record.status,
      });
      await this.#sweepPeers();
    } catch (error) {
      // NATS may be reconnecting: the next heartbeat tries again.
      this.#o.log.warn({ err: error }, "heartbeat failed");
    }
  }

  #scheduleFlush(): void {
    if (this.#cancelFlush || this.#closed) return;
    this.#cancelFlush = this.#o.clock.schedule(() => {
      this.#cancelFlush = undefined;
      void this.#write().catch((error) => this.#o.log.warn({ err: error }, "worker update failed"));
    }, ACTIVITY_FLUSH_MS);
  }

  async #write(): Promise<void> {
    if (this.#closed) return;
    const now = this.#o.clock.now();
    const cpu = process.cpuUsage(this.#cpu);
    const elapsedUs = Math.max(1, (now - this.#cpuAt) * 1000);
    this.#cpu = process.cpuUsage();
    this.#cpuAt = now;
    const record = this.#record;
    record.current_task_ids = [...this.#running];
    record.status = this.#draining ? "DRAINING" : this.#running.size > 0 ? "BUSY" : "IDLE";
    record.cpu_usage = round((cpu.user + cpu.system) / elapsedUs / availableParallelism());
    record.memory_usage = round(process.memoryUsage.rss() / totalmem());
    record.last_activity_time = new Date(now).toISOString();
    await this.#o.kv.put(this.workerId, pack(record));
    this.#lastHeartbeatAt = now;
  }

  /** Marks peers that missed two heartbeats STALE (once, with an event) and removes silent ones. */
  async #sweepPeers(): Promise<void> {
    const { kv, workerTimeoutMs, clock } = this.#o;
    const now = clock.now();
    for (const key of await this.#o.listKeys()) {
      if (key === this.workerId) continue;
      const entry = await kv.get(key);
      if (entry?.operation !== "PUT") continue;
      const record = unpack(entry.value) as WorkerRecord;
      const fate = workerFate(record, now, workerTimeoutMs);
      try {
        if (fate === "gone") {
          await kv.delete(key, { previousSeq: entry.revision });
          this.#o.events.worker({ event: "gone", worker_id: key, status: "STALE" });
        } else if (fate === "stale" && record.status !== "STALE") {
          await kv.update(key, pack({ ...record, status: "STALE" }), entry.revision);
          this.#o.events.worker({ event: "stale", worker_id: key, status: "STALE" });
          this.#o.log.warn(
            { workerId: key, lastSeen: record.last_activity_time },
            "worker is stale",
          );
        }
      } catch (error) {
        // Another process swept first, or the worker came back: both are fine.
        if (!isWrongRevision(error)) throw error;
      }
    }
  }
}

/**
 * Reads every worker record: one that missed two heartbeats reads as STALE; one silent for
 * `workerTimeoutMs` is removed from the bucket (compare-and-set: a worker that came back stays),
 * not listed, and reported to `removed`.
 */
export async function readAll(
  kv: KV,
  listKeys: () => Promise<string[]>,
  nowMs: number,
  workerTimeoutMs: number,
  removed: (workerId: string) => void,
): Promise<WorkerRecord[]> {
  const records: WorkerRecord[] = [];
  for (const key of await listKeys()) {
    const entry = await kv.get(key);
    if (entry?.operation !== "PUT") continue;
    const record = unpack(entry.value) as WorkerRecord;
    const fate = workerFate(record, nowMs, workerTimeoutMs);
    if (fate === "gone") {
      await kv.delete(key, { previousSeq: entry.revision }).then(
        () => removed(key),
        (error: unknown) => {
          if (!isWrongRevision(error)) throw error; // else another lister, or a heartbeat, came first
        },
      );
      continue;
    }
    records.push({ ...record, status: fate === "stale" ? "STALE" : record.status });
  }
  return records.sort((a, b) => a.worker_id.localeCompare(b.worker_id));
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/**
 * Removes every worker that missed two heartbeats, now, rather than once it has been silent for
 * `workerTimeoutMs` (compare-and-set: a worker that came back meanwhile stays). Returns their ids.
 */
export async function removeStale(
  kv: KV,
  listKeys: () => Promise<string[]>,
  nowMs: number,
  workerTimeoutMs: number,
): Promise<string[]> {
  const removed: string[] = [];
  for (const key of await listKeys()) {
    const entry = await kv.get(key);
    if (entry?.operation !== "PUT") continue;
    const record = unpack(entry.value) as WorkerRecord;
    if (workerFate(record, nowMs, workerTimeoutMs) === "live") continue;
    try {
      await kv.delete(key, { previousSeq: entry.revision });
      removed.push(key);
    } catch (error) {
      if (!isWrongRevision(error)) throw error; // a heartbeat or another cleanup came first
    }
  }
  return removed;
}
