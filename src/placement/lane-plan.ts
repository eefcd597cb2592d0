import type { ResourceClass, Resources } from "../contract/resources.ts";
import { canEverTake, DEFAULT_NEED, type WorkerCapacity } from "./resources.ts";

/** A lane a worker pulls, within each priority: the default one, or a resource class's. */
export interface PulledLane {
  /** undefined: the default lane. */
  laneClass: string | undefined;
  resourceClass: ResourceClass;
}

const DEFAULT_LANE: PulledLane = Object.freeze({
  laneClass: undefined,
  resourceClass: Object.freeze({ need: DEFAULT_NEED, service: null, node_selector: {} }),
});

/**
 * The lanes of each priority this worker pulls: the default lane when it serves every service
 * (it carries any service's tasks), then each class it could ever run, in key order.
 */
export function pulledLanes(
  me: WorkerCapacity,
  classes: ReadonlyMap<string, ResourceClass>,
): PulledLane[] {
  const lanes = me.services === null ? [DEFAULT_LANE] : [];
  const keys = [...classes.keys()].sort();
  for (const laneClass of keys) {
    const resourceClass = classes.get(laneClass) as ResourceClass;
    if (canEverTake(me, resourceClass)) lanes.push({ laneClass, resourceClass });
  }
  return lanes;
}

/** How many tasks needing `need` fit in `free` at once (a need of nothing: no bound from it). */
export function fitCount(free: Resources, need: Resources): number {
  let count = Number.POSITIVE_INFINITY;
  if (need.cpu_cores > 0) count = Math.min(count, Math.floor(free.cpu_cores / need.cpu_cores));
  if (need.memory_gb > 0)
    count = Math.min(count, Math.floor((free.memory_gb + 1e-9) / need.memory_gb));
  if (need.gpu_count > 0) count = Math.min(count, Math.floor(free.gpu_count / need.gpu_count));
  return Math.max(0, count);
}
