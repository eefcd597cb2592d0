import type { ResourceClass } from "../contract/resources.ts";
import type { ClusterView } from "../placement/cluster-view.ts";
import {
  DEFAULT_NEED,
  laneClassOf,
  unschedulableReason,
  type WorkerCapacity,
} from "../placement/resources.ts";
import type { ClassLanes, EventSink } from "../transport/ports.ts";
import { jobEventOf } from "./gateway.ts";
import type { JobRecord } from "./job-record.ts";
import type { JobState } from "./job-state.ts";
import type { JobStore } from "./job-store.ts";

/** What a job actor needs to place its tasks (placement/placement-policy.ts has the design). */
export interface JobPlacementDeps {
  view: Pick<ClusterView, "live" | "routesByService">;
  classes: ClassLanes;
  /** MAX_UNSCHEDULABLE: an unschedulable job fails after this long; undefined: it waits. */
  maxUnschedulableMs?: number | undefined;
}

/**
 * The lane class for the job's tasks, its lanes made (and the class made known to every worker)
 * before a task is queued in them; undefined: the default lanes.
 */
export async function laneFor(
  deps: JobPlacementDeps,
  record: JobRecord,
): Promise<string | undefined> {
  const lane = laneClassOf(record.spec, deps.view.routesByService());
  if (!lane) return undefined;
  const { key, need, service, node_selector } = lane;
  await deps.classes.register(key, { need, service, node_selector: { ...node_selector } });
  return key;
}

/** What the job's queued tasks need of a worker, by the lanes they are in. */
function classOf(record: JobRecord): ResourceClass {
  if (record.lane_class === undefined)
    return { need: DEFAULT_NEED, service: null, node_selector: {} };
  const lane = laneClassOf(record.spec, true) as NonNullable<ReturnType<typeof laneClassOf>>;
  return { need: lane.need, service: lane.service, node_selector: { ...lane.node_selector } };
}

export type Verdict =
  | { kind: "schedulable" }
  | { kind: "unschedulable"; reason: string; since: number }
  | { kind: "fail"; reason: string };

/**
 * Whether the job's queued tasks can run on some live worker. A job with a task running, or not
 * queued, is schedulable; one that can be run nowhere is unschedulable since it was first found
 * so, and past `maxMs` of that fails.
 */
export function unschedulableVerdict(
  record: JobRecord,
  live: readonly WorkerCapacity[],
  nowMs: number,
  maxMs: number | undefined,
): Verdict {
  const waiting =
    record.tasks_enqueued &&
    (record.status === "QUEUED" || record.status === "RUNNING") &&
    record.running_tasks === 0;
  const reason = waiting ? unschedulableReason(classOf(record), live) : undefined;
  if (reason === undefined) return { kind: "schedulable" };
  const since = record.unschedulable_since ? Date.parse(record.unschedulable_since) : nowMs;
  if (maxMs !== undefined && nowMs - since >= maxMs) return { kind: "fail", reason };
  return { kind: "unschedulable", reason, since };
}

/**
 * Applies the verdict to the job: its record and event say why it waits (or no longer say it),
 * and a job unschedulable for MAX_UNSCHEDULABLE fails with the reason. Returns the record.
 */
export async function checkPlacement(
  deps: JobPlacementDeps & { store: JobStore; events: EventSink },
  record: JobRecord,
  nowMs: number,
  finalize: (status: JobState, error: string) => Promise<void>,
): Promise<JobRecord> {
  const verdict = unschedulableVerdict(record, deps.view.live(), nowMs, deps.maxUnschedulableMs);
  if (verdict.kind === "fail") {
    await finalize("FAILED", `unschedulable for MAX_UNSCHEDULABLE: ${verdict.reason}`);
    return record;
  }
  const reason = verdict.kind === "unschedulable" ? verdict.reason : undefined;
  if (reason === record.unschedulable) return record;
  const since =
    verdict.kind === "unschedulable" ? new Date(verdict.since).toISOString() : undefined;
  const updated = await deps.store.update(record.job_id, (job) => {
    if (job.status !== record.status) return undefined; // moved on meanwhile: look next tick
    const { unschedulable: _, unschedulable_since: __, ...rest } = job;
    return reason === undefined
      ? rest
      : { ...rest, unschedulable: reason, unschedulable_since: since };
  });
  if (!updated || updated.unschedulable !== reason) return updated ?? record;
  deps.events.job(jobEventOf(updated));
  return updated;
}
