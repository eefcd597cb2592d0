import { totalmem } from "node:os";
import type { WorkerStatus } from "./worker-record.ts";
import type { LocalWorker } from "./worker-registry.ts";

/** Seed 004's `GET /health`: this process's worker, as its own metrics port tells it. */
export interface WorkerHealth {
  status: WorkerStatus;
  worker_id: string;
  /** Since the worker registered, as Go prints a duration (`2h15m30s`), as seed 004 does. */
  uptime: string;
  uptime_s: number;
  active_tasks: number;
  completed_tasks: number;
  /** Percent of all cores since the previous heartbeat. */
  cpu_usage: number;
  /** Resident memory in bytes (seed 004's unit here; worker activity gives a percent). */
  memory_usage: number;
  /** When a heartbeat last reached NATS (ISO 8601); null before the first. */
  last_heartbeat: string | null;
  /** `connected` while NATS answers and Troupe's streams are there, else `disconnected`. */
  orchestrator_connection: "connected" | "disconnected";
}

export function workerHealth(worker: LocalWorker, nowMs: number, connected: boolean): WorkerHealth {
  const record = worker.snapshot();
  const uptimeS = Math.max(0, Math.floor((nowMs - Date.parse(record.started_at)) / 1000));
  const heartbeat = worker.lastHeartbeatAt();
  return {
    status: record.status,
    worker_id: worker.workerId,
    uptime: goDuration(uptimeS),
    uptime_s: uptimeS,
    active_tasks: record.current_task_ids.length,
    completed_tasks: record.tasks_completed,
    cpu_usage: Math.round(record.cpu_usage * 1000) / 10,
    memory_usage: Math.round(record.memory_usage * totalmem()),
    last_heartbeat: heartbeat === undefined ? null : new Date(heartbeat).toISOString(),
    orchestrator_connection: connected ? "connected" : "disconnected",
  };
}

/** `8130` → `2h15m30s`, as Go's `time.Duration` prints whole seconds. */
export function goDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
