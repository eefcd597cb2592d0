import type { ActorSystem } from "../actors/actor-system.ts";
import type { Gateway } from "../jobs/gateway.ts";
import type { Logger } from "../log.ts";
import { createSupervisor } from "../supervisor/supervisor.ts";
import type { NatsConnection } from "../transport/connection.ts";
import type { JobEventFeed, WorkflowEventSink } from "../transport/ports.ts";
import type { Topology } from "../transport/streams.ts";
import type { Names } from "../transport/subjects.ts";
import { WorkflowOwner } from "./workflow-owner.ts";

export interface WorkflowDrivingOptions {
  nc: NatsConnection;
  names: Names;
  topology: Topology;
  system: ActorSystem;
  gateway: Gateway;
  jobEvents: JobEventFeed;
  events: WorkflowEventSink;
  driver: { worker_id: string; pid: number };
  tickMs: number;
  log: Logger;
}

export interface WorkflowDriving {
  readonly owner: WorkflowOwner;
  /** Stops routing nudges (before the owner stops). */
  stopNudges(): void;
}

/**
 * A process's part in driving workflows: the `workflows` supervisor, the owner taking workflow
 * leases, and the nudges (cancel) routed to the actor that drives the workflow.
 */
export function workflowDriving(o: WorkflowDrivingOptions): WorkflowDriving {
  const supervisor = createSupervisor(o.system, {
    name: "workflows",
    strategy: "one_for_one",
    maxRestarts: 100,
    periodMs: 10_000,
    minBackoffMs: 50,
    maxBackoffMs: 2_000,
  });
  const owner = new WorkflowOwner({
    nc: o.nc,
    names: o.names,
    topology: o.topology,
    supervisor,
    actorDeps: {
      store: o.gateway.workflowStore,
      jobs: o.gateway.jobs,
      jobEvents: o.jobEvents,
      submit: (body) => o.gateway.submit(body),
      cancelJob: (jobId) => o.gateway.cancelIfLive(jobId),
      events: o.events,
      driver: o.driver,
      tickMs: o.tickMs,
      log: o.log,
    },
    log: o.log,
  });
  const nudges = o.nc.subscribe(o.names.internal.allWorkflowNudges, {
    callback: (_error, msg) => {
      owner.tell(msg.subject.slice(msg.subject.lastIndexOf(".") + 1), { kind: "nudge" });
    },
  });
  return { owner, stopNudges: () => nudges.unsubscribe() };
}
