import { createHash } from "node:crypto";
import { RESOURCE_NAMES, type Resources } from "../contract/resources.ts";

/**
 * Resources, workers and resource classes as placement sees them: pure decisions (does a task
 * fit a worker, which lane does a job's tasks go to, why can no worker ever run them).
 */

/** What placement knows of a worker: from its record (a peer) or live (itself). */
export interface WorkerCapacity {
  worker_id: string;
  /** When it registered (ms): first_fit's order. */
  started_ms: number;
  total: Resources;
  allocated: Resources;
  /** WORKER_SERVICES; null: every service. */
  services: readonly string[] | null;
  labels: Readonly<Record<string, string>>;
}

/**
 * A resource class: the tasks of every job with the same need, service and node selector share
 * its lanes (one per priority). `service` null is the default class, today's lanes: tasks within
 * the default resources, any service, taken by workers that serve every service.
 */
export interface LaneClass {
  /** A subject token and consumer name part: `k` and a hash of the rest. */
  key: string;
  need: Resources;
  service: string | null;
  node_selector: Readonly<Record<string, string>>;
}

/** Nothing at all. */
export const NO_RESOURCES: Resources = Object.freeze({ cpu_cores: 0, memory_gb: 0, gpu_count: 0 });

/**
 * What a task within the default resources (1 core, at most 1 GB, no GPU) holds: one slot. Its
 * memory is not counted: it did not ask for any (1 GB is the spec's default), and counting it
 * would change today's lanes on a machine with more slots than gigabytes.
 */
export const DEFAULT_NEED: Resources = Object.freeze({ cpu_cores: 1, memory_gb: 0, gpu_count: 0 });

/** The job spec fields placement reads. */
export interface PlacedSpec {
  model_type: string;
  service?: string | undefined;
  resources: Resources;
  node_selector?: Readonly<Record<string, string>> | undefined;
}

/** True when the spec asks for no more than the default resources and names no labels. */
export function isDefaultPlacement(spec: PlacedSpec): boolean {
  const { cpu_cores, memory_gb, gpu_count } = spec.resources;
  const selector = spec.node_selector ?? {};
  return cpu_cores <= 1 && memory_gb <= 1 && gpu_count === 0 && Object.keys(selector).length === 0;
}

/** What one running task of the spec holds on its worker. */
export function needOf(spec: PlacedSpec): Resources {
  if (isDefaultPlacement(spec)) return DEFAULT_NEED;
  const { cpu_cores, memory_gb, gpu_count } = spec.resources;
  return { cpu_cores, memory_gb, gpu_count };
}

/** The spec's service: its `service`, else its model type (as the quotas count it). */
export function serviceOf(spec: PlacedSpec): string {
  return spec.service ?? spec.model_type;
}

/**
 * The lane class of a job's tasks; undefined: the default lanes (today's fast path). A job within
 * the default resources goes there unless `routeByService` (some live worker serves only some
 * services: then every task's service must be in its class, so such a worker can pull only its own).
 */
export function laneClassOf(spec: PlacedSpec, routeByService: boolean): LaneClass | undefined {
  if (isDefaultPlacement(spec) && !routeByService) return undefined;
  const need = needOf(spec);
  const service = serviceOf(spec);
  const node_selector = sortedLabels(spec.node_selector ?? {});
  const canonical = JSON.stringify([need, service, node_selector]);
  const key = `k${createHash("sha256").update(canonical).digest("hex").slice(0, 12)}`;
  return { key, need, service, node_selector };
}

/** A class as the classes bucket keeps it (its key is the bucket key). */
export type StoredClass = Omit<LaneClass, "key">;

function sortedLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
}

/** The worker takes tasks of the service (null: the default lanes, which any service rides). */
export function serves(worker: Pick<WorkerCapacity, "services">, service: string | null): boolean {
  if (worker.services === null) return true;
  return service !== null && worker.services.includes(service);
}

export function hasLabels(
  worker: Pick<WorkerCapacity, "labels">,
  selector: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(selector).every(([name, value]) => worker.labels[name] === value);
}

/** `a` holds `b`, resource by resource. */
export function covers(a: Resources, b: Resources): boolean {
  return RESOURCE_NAMES.every((name) => a[name] + 1e-9 >= b[name]);
}

export function freeOf(worker: Pick<WorkerCapacity, "total" | "allocated">): Resources {
  const { total, allocated } = worker;
  return {
    cpu_cores: Math.max(0, total.cpu_cores - allocated.cpu_cores),
    memory_gb: round(Math.max(0, total.memory_gb - allocated.memory_gb)),
    gpu_count: Math.max(0, total.gpu_count - allocated.gpu_count),
  };
}

export function plus(a: Resources, b: Resources, sign = 1): Resources {
  return {
    cpu_cores: a.cpu_cores + sign * b.cpu_cores,
    memory_gb: round(a.memory_gb + sign * b.memory_gb),
    gpu_count: a.gpu_count + sign * b.gpu_count,
  };
}

/** The worker could ever run the class's tasks (its whole capacity, its services and labels). */
export function canEverTake(worker: WorkerCapacity, lane: Omit<LaneClass, "key">): boolean {
  return (
    serves(worker, lane.service) &&
    hasLabels(worker, lane.node_selector) &&
    covers(worker.total, lane.need)
  );
}

/** The worker can start one of the class's tasks now (its free capacity). */
export function canTakeNow(worker: WorkerCapacity, lane: Omit<LaneClass, "key">): boolean {
  return (
    serves(worker, lane.service) &&
    hasLabels(worker, lane.node_selector) &&
    covers(freeOf(worker), lane.need)
  );
}

/**
 * Why no live worker can ever run the class's tasks, or undefined when one can (or there is no
 * live worker to judge by: a cluster starting up is not a reason). Names the first thing that
 * rules every worker out: the service, the labels, then the resource no worker has enough of.
 */
export function unschedulableReason(
  lane: Omit<LaneClass, "key">,
  workers: readonly WorkerCapacity[],
): string | undefined {
  if (workers.length === 0 || workers.some((w) => canEverTake(w, lane))) return undefined;
  const serving = workers.filter((w) => serves(w, lane.service));
  if (serving.length === 0) {
    return lane.service === null
      ? "needs a worker that serves every service; every live worker has WORKER_SERVICES set"
      : `needs service ${lane.service}; no live worker serves it (WORKER_SERVICES)`;
  }
  const labelled = serving.filter((w) => hasLabels(w, lane.node_selector));
  if (labelled.length === 0) {
    const wanted = Object.entries(lane.node_selector)
      .map(([name, value]) => `${name}=${value}`)
      .join(",");
    return `needs labels ${wanted}; no live worker has them (WORKER_LABELS)`;
  }
  for (const name of RESOURCE_NAMES) {
    const largest = Math.max(...labelled.map((w) => w.total[name]));
    if (lane.need[name] > largest + 1e-9) {
      return `needs ${name} ${lane.need[name]}; the largest worker has ${largest}`;
    }
  }
  const wanted = RESOURCE_NAMES.filter((name) => lane.need[name] > 0)
    .map((name) => `${name} ${lane.need[name]}`)
    .join(", ");
  return `needs ${wanted} on one worker; no live worker has them all`;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
