import type { ResourceAvailability, Resources, WorkerResources } from "../contract/resources.ts";
import type { WorkerRecord } from "../workers/worker-record.ts";
import { freeOf, NO_RESOURCES, plus, type WorkerCapacity } from "./resources.ts";

/** A worker's record as placement reads it (an older worker's missing fields: all services, none held). */
export function capacityOf(record: WorkerRecord): WorkerCapacity {
  const { capabilities: c } = record;
  return {
    worker_id: record.worker_id,
    started_ms: Date.parse(record.started_at),
    total: { cpu_cores: c.cpu_cores, memory_gb: c.memory_gb, gpu_count: c.gpu_count },
    allocated: record.allocated ?? NO_RESOURCES,
    services: c.services ?? null,
    labels: c.labels ?? {},
  };
}

/**
 * Total, allocated and free per resource, per live worker and summed over them. Stale workers
 * (two heartbeats missed: probably dead) are left out, so what a killed worker held stops
 * counting within two heartbeats; a draining one takes nothing new, so nothing of it is free.
 */
export function availability(records: readonly WorkerRecord[]): ResourceAvailability {
  const workers: WorkerResources[] = records
    .filter((record) => record.status !== "STALE")
    .map((record) => {
      const capacity = capacityOf(record);
      const draining = record.status === "DRAINING";
      return {
        worker_id: record.worker_id,
        status: record.status,
        services: capacity.services === null ? null : [...capacity.services],
        labels: { ...capacity.labels },
        total: capacity.total,
        allocated: capacity.allocated,
        free: draining ? NO_RESOURCES : freeOf(capacity),
      };
    });
  const sum = (pick: (w: WorkerResources) => Resources) =>
    workers.reduce((total, w) => plus(total, pick(w)), NO_RESOURCES);
  return {
    cluster: {
      workers: workers.length,
      total: sum((w) => w.total),
      allocated: sum((w) => w.allocated),
      free: sum((w) => w.free),
    },
    workers,
  };
}
