// Placement by resources (DESIGN §5.4): the shapes the doors answer and workers advertise.

/** CPU cores (slots), memory and GPUs: what a task needs, what a worker has, holds or has free. */
export interface Resources {
  cpu_cores: number;
  memory_gb: number;
  gpu_count: number;
}

/** The resources placement counts, in the order reasons and tables name them. */
export const RESOURCE_NAMES = ["cpu_cores", "memory_gb", "gpu_count"] as const;

/** How the fitting workers are chosen among (PLACEMENT), the same on every process. */
export const PLACEMENTS = ["least_loaded", "best_fit", "first_fit"] as const;
export type Placement = (typeof PLACEMENTS)[number];

/**
 * A resource class (placement): the need, service and node selector its tasks share. Its lanes
 * are one consumer per priority; the classes bucket keeps it by its key.
 */
export interface ResourceClass {
  need: Resources;
  /** null: the default class (any service; taken by workers that serve every one). */
  service: string | null;
  node_selector: Record<string, string>;
}

/** Total, allocated (held by running tasks) and free, per resource. */
export interface ResourceUse {
  total: Resources;
  allocated: Resources;
  free: Resources;
}

/** One live worker's capacity and use (`GET /api/v1/resources/availability`). */
export interface WorkerResources extends ResourceUse {
  worker_id: string;
  status: string;
  /** WORKER_SERVICES; null: every service. */
  services: string[] | null;
  /** WORKER_LABELS. */
  labels: Record<string, string>;
}

/** The cluster's resources: sums over the live workers (stale ones are left out), and each. */
export interface ResourceAvailability {
  cluster: ResourceUse & { workers: number };
  workers: WorkerResources[];
}
