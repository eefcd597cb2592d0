import type { Logger } from "../log.ts";
import type { Supervisor } from "../supervisor/supervisor.ts";
import type { NatsConnection } from "../transport/connection.ts";
import { consumeJobLeases, type Lease, type LeaseFeed } from "../transport/leases.ts";
import type { Topology } from "../transport/streams.ts";
import type { Names } from "../transport/subjects.ts";
import { type JobActorDeps, type JobMessage, jobActor } from "./job-actor.ts";

export interface JobOwnerOptions {
  nc: NatsConnection;
  names: Names;
  topology: Topology;
  /** The dynamic supervisor the job actors live under. */
  supervisor: Supervisor;
  actorDeps: Omit<JobActorDeps, "onEnded">;
  log: Logger;
}

/**
 * Takes job leases: consumes the shared `job-owners` consumer and starts a job actor for every
 * job message it gets. The message stays un-acked while the job lives (the actor keeps it alive
 * with in-progress acks); if this process dies, JetStream hands it to another process.
 */
export class JobOwner {
  readonly #o: JobOwnerOptions;
  readonly #leases = new Map<string, Lease>();
  #feed: LeaseFeed | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: JobOwnerOptions) {
    this.#o = options;
  }

  /** Jobs this process owns now. */
  get owned(): number {
    return this.#leases.size;
  }

  async start(): Promise<void> {
    const { nc, topology, names } = this.#o;
    this.#feed = await consumeJobLeases(nc, topology, names);
    this.#loop = this.#consume(this.#feed);
  }

  /** The job actor of `jobId` in this process, if this process owns the job. */
  tell(jobId: string, message: JobMessage): void {
    if (this.#leases.has(jobId)) this.#o.supervisor.child<JobMessage, void>(jobId)?.tell(message);
  }

  /**
   * Takes no more jobs (a draining process); the jobs it owns keep their actors until `stop`.
   * Leases already delivered to this process are still taken, to be handed back by `stop`.
   */
  async stopTaking(): Promise<void> {
    await this.#feed?.close();
    await this.#loop;
  }

  /**
   * Stops taking jobs and hands the ones it owns back at once (nak without delay): their actors
   * stop, and another process rehydrates them from JetStream.
   */
  async stop(): Promise<void> {
    await this.stopTaking();
    const owned = [...this.#leases];
    this.#leases.clear();
    await Promise.all(owned.map(([jobId]) => this.#o.supervisor.terminateChild(jobId)));
    for (const [, lease] of owned) lease.nak();
  }

  async #consume(feed: LeaseFeed): Promise<void> {
    for await (const { id: jobId, lease } of feed) {
      if (this.#leases.has(jobId)) {
        lease.working(); // a redelivery of a lease we hold: our actor is alive, keep it
        continue;
      }
      this.#leases.set(jobId, lease);
      try {
        await this.#o.supervisor.startChild<JobMessage, void>({
          id: jobId,
          restart: "transient",
          mailboxSize: 10_000,
          overflow: "drop-oldest",
          shutdownMs: 5_000,
          behavior: jobActor(
            { ...this.#o.actorDeps, onEnded: (id) => this.#ended(id) },
            jobId,
            lease,
          ),
        });
      } catch (error) {
        this.#leases.delete(jobId);
        lease.nak(1_000);
        this.#o.log.error({ err: error, jobId }, "could not start a job actor");
      }
    }
  }

  #ended(jobId: string): void {
    if (!this.#leases.delete(jobId)) return;
    void this.#o.supervisor
      .terminateChild(jobId)
      .catch((error) => this.#o.log.warn({ err: error, jobId }, "job actor did not stop cleanly"));
  }
}
