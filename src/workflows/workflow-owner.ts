import type { Logger } from "../log.ts";
import type { Supervisor } from "../supervisor/supervisor.ts";
import type { NatsConnection } from "../transport/connection.ts";
import { consumeWorkflowLeases, type Lease, type LeaseFeed } from "../transport/leases.ts";
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

/**
 * Takes workflow leases, exactly as the job owner takes job leases (job-owner.ts): a workflow
 * actor per lease, the lease un-acked while the workflow lives; if this process dies, JetStream
 * hands it to another process, whose actor reads the record and carries on.
 */
export class WorkflowOwner {
  readonly #o: WorkflowOwnerOptions;
  readonly #leases = new Map<string, Lease>();
  #feed: LeaseFeed | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: WorkflowOwnerOptions) {
    this.#o = options;
  }

  async start(): Promise<void> {
    const { nc, topology, names } = this.#o;
    this.#feed = await consumeWorkflowLeases(nc, topology, names);
    this.#loop = this.#consume(this.#feed);
  }

  /** The workflow actor of `workflowId` in this process, if this process drives it. */
  tell(workflowId: string, message: WorkflowMessage): void {
    if (this.#leases.has(workflowId)) {
      this.#o.supervisor.child<WorkflowMessage, void>(workflowId)?.tell(message);
    }
  }

  async stopTaking(): Promise<void> {
    await this.#feed?.close();
    await this.#loop;
  }

  /** Stops taking workflows and hands back the ones it drives, for another process. */
  async stop(): Promise<void> {
    await this.stopTaking();
    const owned = [...this.#leases];
    this.#leases.clear();
    await Promise.all(owned.map(([id]) => this.#o.supervisor.terminateChild(id)));
    for (const [, lease] of owned) lease.nak();
  }

  async #consume(feed: LeaseFeed): Promise<void> {
    for await (const { id, lease } of feed) {
      if (this.#leases.has(id)) {
        lease.working();
        continue;
      }
      this.#leases.set(id, lease);
      try {
        await this.#o.supervisor.startChild<WorkflowMessage, void>({
          id,
          restart: "transient",
          mailboxSize: 10_000,
          overflow: "drop-oldest",
          shutdownMs: 5_000,
          behavior: workflowActor(
            { ...this.#o.actorDeps, onEnded: (w) => this.#ended(w) },
            id,
            lease,
          ),
        });
      } catch (error) {
        this.#leases.delete(id);
        lease.nak(1_000);
        this.#o.log.error({ err: error, workflowId: id }, "could not start a workflow actor");
      }
    }
  }

  #ended(workflowId: string): void {
    if (!this.#leases.delete(workflowId)) return;
    void this.#o.supervisor
      .terminateChild(workflowId)
      .catch((error) =>
        this.#o.log.warn({ err: error, workflowId }, "workflow actor did not stop cleanly"),
      );
  }
}
