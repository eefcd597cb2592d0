import { LeaseOwner } from "../jobs/lease-owner.ts";
import type { Logger } from "../log.ts";
import type { Supervisor } from "../supervisor/supervisor.ts";
import type { NatsConnection } from "../transport/connection.ts";
import { consumeWorkflowLeases } from "../transport/leases.ts";
import type { Topology } from "../transport/streams.ts";
import type { Names } from "../transport/subjects.ts";
import { type WorkflowActorDeps, type WorkflowMessage, workflowActor } from "./workflow-actor.ts";

export interface WorkflowOwnerOptions {
  nc: NatsConnection;
  names: Names;
  topology: Topology;
  /** The dynamic supervisor the workflow actors live under. */
  supervisor: Supervisor;
  actorDeps: Omit<WorkflowActorDeps, "onEnded">;
  log: Logger;
}

/** Takes workflow leases exactly as the job owner takes job leases: a workflow actor for each. */
export class WorkflowOwner extends LeaseOwner<WorkflowMessage> {
  constructor(o: WorkflowOwnerOptions) {
    super({
      idField: "workflowId",
      supervisor: o.supervisor,
      consume: () => consumeWorkflowLeases(o.nc, o.topology, o.names),
      behavior: (id, lease, onEnded) => workflowActor({ ...o.actorDeps, onEnded }, id, lease),
      log: o.log,
    });
  }
}
