import type { Behavior } from "../actors/behavior.ts";
import type { Logger } from "../log.ts";
import type { Supervisor } from "../supervisor/supervisor.ts";
import type { Lease, LeaseFeed } from "../transport/leases.ts";

export interface LeaseOwnerOptions<M> {
  /** What is owned, for the log: `jobId`, `workflowId`. */
  idField: string;
  /** The dynamic supervisor the actors live under. */
  supervisor: Supervisor;
  /** Starts consuming the shared lease consumer. */
  consume(): Promise<LeaseFeed>;
  /** The actor of one leased id; it calls `onEnded` once its work is done and its lease let go. */
  behavior(id: string, lease: Lease, onEnded: (id: string) => void): Behavior<M, void>;
  log: Logger;
}

/**
 * Takes leases from a shared consumer and starts an actor for every one it gets (a job, a
 * workflow). The message stays un-acked while the actor lives (it keeps it alive with in-progress
 * acks); if this process dies, JetStream hands it to another process, whose actor reads the
 * record and carries on.
 */
export class LeaseOwner<M> {
  readonly #o: LeaseOwnerOptions<M>;
  readonly #leases = new Map<string, Lease>();
  #feed: LeaseFeed | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: LeaseOwnerOptions<M>) {
    this.#o = options;
  }

  /** Leases this process holds now. */
  get owned(): number {
    return this.#leases.size;
  }

  async start(): Promise<void> {
    this.#feed = await this.#o.consume();
    this.#loop = this.#consume(this.#feed);
  }

  /** The actor of `id` in this process, if this process holds its lease. */
  tell(id: string, message: M): void {
    if (this.#leases.has(id)) this.#o.supervisor.child<M, void>(id)?.tell(message);
  }

  /**
   * Takes no more leases (a draining process); the actors it has live on until `stop`. Leases
   * already delivered to this process are still taken, to be handed back by `stop`.
   */
  async stopTaking(): Promise<void> {
    await this.#feed?.close();
    await this.#loop;
  }

  /**
   * Stops taking leases and hands the ones it holds back at once (nak without delay): their
   * actors stop, and another process rehydrates them from JetStream.
   */
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
        lease.working(); // a redelivery of a lease we hold: our actor is alive, keep it
        continue;
      }
      this.#leases.set(id, lease);
      try {
        await this.#o.supervisor.startChild<M, void>({
          id,
          restart: "transient",
          mailboxSize: 10_000,
          overflow: "drop-oldest",
          shutdownMs: 5_000,
          behavior: this.#o.behavior(id, lease, (ended) => this.#ended(ended)),
        });
      } catch (error) {
        this.#leases.delete(id);
        lease.nak(1_000);
        this.#o.log.error({ err: error, [this.#o.idField]: id }, "could not start its actor");
      }
    }
  }

  #ended(id: string): void {
    if (!this.#leases.delete(id)) return;
    void this.#o.supervisor
      .terminateChild(id)
      .catch((error) =>
        this.#o.log.warn({ err: error, [this.#o.idField]: id }, "actor did not stop cleanly"),
      );
  }
}
