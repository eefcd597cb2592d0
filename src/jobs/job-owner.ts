import type { Logger } from "../log.ts";
import type { Supervisor } from "../supervisor/supervisor.ts";
import type { NatsConnection } from "../transport/connection.ts";
import { consumeJobLeases } from "../transport/leases.ts";
import type { Topology } from "../transport/streams.ts";
import type { Names } from "../transport/subjects.ts";
import { type JobActorDeps, type JobMessage, jobActor } from "./job-actor.ts";
import { LeaseOwner } from "./lease-owner.ts";

export interface JobOwnerOptions {
  nc: NatsConnection;
  names: Names;
  topology: Topology;
  /** The dynamic supervisor the job actors live under. */
  supervisor: Supervisor;
  actorDeps: Omit<JobActorDeps, "onEnded">;
  log: Logger;
}

/** Takes job leases (the shared `job-owners` consumer): a job actor for every job it gets. */
export class JobOwner extends LeaseOwner<JobMessage> {
  constructor(o: JobOwnerOptions) {
    super({
      idField: "jobId",
      supervisor: o.supervisor,
      consume: () => consumeJobLeases(o.nc, o.topology, o.names),
      behavior: (id, lease, onEnded) => jobActor({ ...o.actorDeps, onEnded }, id, lease),
      log: o.log,
    });
  }
}
