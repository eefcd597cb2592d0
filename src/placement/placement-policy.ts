import type { Placement, Resources } from "../contract/resources.ts";
import { canTakeNow, freeOf, type LaneClass, type WorkerCapacity } from "./resources.ts";

/**
 * Placement in a pull model (DESIGN §5.4). No one hands tasks out: every worker pulls. So the
 * decision "which worker takes this task" is made by each worker about itself, in three layers:
 *
 * 1. **Resource classes as lanes.** A job's tasks go to the lanes of its class — its need
 *    (cpu_cores, memory_gb, gpu_count), service and node selector — one lane per priority ×
 *    class, each a durable consumer on the tasks stream; the class is registered in a KV bucket
 *    that every process watches. A worker pulls only the classes it could ever run (its whole
 *    capacity, its WORKER_SERVICES and WORKER_LABELS), so a GPU task is never even delivered to a
 *    worker without a GPU, and a worker serving `svm` never receives a `neural_network` task.
 *    Tasks within the default resources (1 core, ≤ 1 GB, no GPU, no selector) ride today's lanes
 *    unchanged, unless some live worker restricts its services (then they are classed by service
 *    too). A worker restricted to some services never pulls the default lanes.
 * 2. **Fit now.** A worker pulls from a class lane only as many chunks as fit its free capacity
 *    (the dispatcher counts what its running chunks hold: a 2-core chunk holds 2 slots).
 * 3. **The policy, by deferring.** Before pulling a class lane that it last found empty (work
 *    arriving), a worker looks at the live worker records (heartbeats, rewritten within 250 ms
 *    of a task starting or ending) of the workers that could take one of its tasks now, ranks
 *    them by PLACEMENT, and if another worker ranks first it skips the lane for now: that worker
 *    will pull it. `least_loaded` ranks by CPU load (allocated / total cores), `best_fit` by the
 *    cores left after placing (fewest first: packs), `first_fit` by registration order. Once a
 *    pull of the lane comes back full (a backlog is flowing), the worker pulls it freely until
 *    it finds it empty again: the policy picks who starts a burst, and a backlog is then drained
 *    by every worker that fits, as fast as they free up (no slot left idle behind a stale
 *    record while tasks wait).
 *
 * Bounds. The policy holds as far as the records are fresh: a record may lag a worker's truth by
 * its flush (250 ms) and the watch's delivery, so two workers starting at the same moment may
 * both take a task the policy would give one of them (placement is never wrong about *fit*: each
 * worker checks its own free capacity, live). A worker that defers does so at most `maxDeferMs`
 * for one lane, then pulls anyway: a preferred worker that died (not yet stale) or stalled
 * delays a task by that much at most, never forever (maxDeferMs: two heartbeats, after which a
 * dead worker's record reads stale and stops counting anyway). PLACEMENT orders class lanes only:
 * the default lanes keep today's first-come pulling (their tasks are all alike), so the tiny-task
 * path pays nothing for it. Whether a job within the default resources is classed by service is
 * decided when it is queued, from the records then: a job queued while every worker served every
 * service stays on the default lanes, which a restricted worker does not pull (if only restricted
 * workers are left, the job says so as its unschedulable reason). An idle worker asks an empty
 * class lane again every quarter heartbeat (at most 1 s; new work rings it at once). Memory is
 * the worker's own (WORKER_MEMORY_GB, or the machine's: processes sharing a machine each count
 * all of it unless told). Classes are not removed: they are few (distinct needs × services ×
 * selectors), each costing four idle consumers.
 */

/** The workers that could take a task of `lane` now, best first by `policy`. */
export function rank(
  policy: Placement,
  lane: Omit<LaneClass, "key">,
  workers: readonly WorkerCapacity[],
): WorkerCapacity[] {
  const fitting = workers.filter((w) => canTakeNow(w, lane));
  return fitting.sort((a, b) => compare(policy, lane.need, a, b) || byId(a, b));
}

/**
 * The worker the policy prefers to `me` for a task of `lane`, when one can take it now; undefined:
 * `me` ranks first (or is the only one), so it pulls.
 */
export function preferredOver(
  policy: Placement,
  lane: Omit<LaneClass, "key">,
  me: WorkerCapacity,
  peers: readonly WorkerCapacity[],
): WorkerCapacity | undefined {
  const first = rank(policy, lane, [me, ...peers.filter((p) => p.worker_id !== me.worker_id)])[0];
  return first && first.worker_id !== me.worker_id ? first : undefined;
}

function compare(policy: Placement, need: Resources, a: WorkerCapacity, b: WorkerCapacity): number {
  switch (policy) {
    case "least_loaded":
      // The least loaded first; between equals, the one with more cores free.
      return load(a) - load(b) || freeOf(b).cpu_cores - freeOf(a).cpu_cores;
    case "best_fit":
      // The tightest fit first: fewest cores left, then least memory left, after placing.
      return (
        freeOf(a).cpu_cores - need.cpu_cores - (freeOf(b).cpu_cores - need.cpu_cores) ||
        freeOf(a).memory_gb - freeOf(b).memory_gb
      );
    case "first_fit":
      return a.started_ms - b.started_ms;
  }
}

function load(worker: WorkerCapacity): number {
  return worker.total.cpu_cores === 0 ? 1 : worker.allocated.cpu_cores / worker.total.cpu_cores;
}

function byId(a: WorkerCapacity, b: WorkerCapacity): number {
  return a.worker_id < b.worker_id ? -1 : a.worker_id > b.worker_id ? 1 : 0;
}
