import type { Clock } from "../clock.ts";
import { PRIORITIES, type Priority } from "../contract/priorities.ts";
import type { Logger } from "../log.ts";
import type { NatsConnection } from "../transport/connection.ts";
import { type Delivery, LanePuller } from "../transport/lane-pull.ts";
import type { Names } from "../transport/subjects.ts";
import { freshLanes, laneOrder } from "./priority.ts";

const decoder = new TextDecoder();

export interface DispatcherOptions {
  nc: NatsConnection;
  names: Names;
  /** Execution slots of this process. */
  slots: number;
  /** Runs a delivery on an idle slot; resolves (or rejects) once the slot is free again. */
  runTask(slot: number, delivery: Delivery): Promise<void>;
  /** A lane waiting this long gains one priority rank. */
  agingMs: number;
  /** With every lane empty, look again after this long (retries come back after their delay). */
  idlePollMs: number;
  /** Returns a pulled delivery that will not start here (stopping) without spending an attempt. */
  handBack(delivery: Delivery): Promise<void>;
  clock: Clock;
  log: Logger;
}

/**
 * Feeds the worker slots of this process. Whenever slots are idle it pulls tasks — never more
 * than it can start — from the lanes in priority order (with aging), without waiting on empty
 * lanes; with nothing to do it sleeps until the doorbell rings or the idle poll fires. A lane found
 * empty is not asked again until the doorbell rings (new tasks were queued) or the idle poll
 * period has passed (a retry's delay may have run out): asking every empty lane before each pull
 * would triple the pull requests the server answers when one lane holds the work.
 */
export class Dispatcher {
  readonly #o: DispatcherOptions;
  readonly #idle: number[];
  readonly #lastServed: Record<Priority, number>;
  /** Until when a lane found empty is skipped. */
  readonly #emptyUntil: Record<Priority, number> = freshLanes(0);
  /** Times the doorbell rang per lane: a pull that began before a ring cannot say its lane is empty. */
  readonly #rings: Record<Priority, number> = freshLanes(0);
  #puller: LanePuller | undefined;
  readonly #busy = new Set<Promise<void>>();
  #wake: (() => void) | undefined;
  #stopped = false;
  #loop: Promise<void> | undefined;
  #doorbell: { unsubscribe(): void } | undefined;

  constructor(options: DispatcherOptions) {
    this.#o = options;
    this.#idle = Array.from({ length: options.slots }, (_, slot) => slot);
    this.#lastServed = freshLanes(options.clock.now());
  }

  start(): void {
    if (this.#loop) return;
    this.#puller = new LanePuller(this.#o.nc);
    this.#doorbell = this.#o.nc.subscribe(this.#o.names.internal.doorbell, {
      callback: (_error, msg) => {
        // A ring naming its lane makes only that lane worth asking again: no empty pulls of the
        // others. A ring without one (a hand-back, an older process) names every lane.
        const named = decoder.decode(msg.data);
        const lanes = PRIORITIES.includes(named as Priority) ? [named as Priority] : PRIORITIES;
        for (const lane of lanes) {
          this.#rings[lane] += 1;
          this.#emptyUntil[lane] = 0;
        }
        this.#wake?.();
      },
    });
    this.#loop = this.#run().catch((error) =>
      this.#o.log.error({ err: error }, "dispatcher stopped"),
    );
  }

  /** Stops pulling; resolves once the tasks it started have ended (or were handed back). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#doorbell?.unsubscribe();
    this.#wake?.();
    await this.#loop;
    this.#puller?.close();
    await Promise.allSettled(this.#busy);
  }

  /** Tasks running in this process now. */
  get running(): number {
    return this.#busy.size;
  }

  async #run(): Promise<void> {
    const { names, clock } = this.#o;
    const puller = this.#puller as LanePuller;
    while (!this.#stopped) {
      if (this.#idle.length === 0) {
        await this.#sleep(undefined);
        continue;
      }
      let started = 0;
      for (const lane of laneOrder(this.#lastServed, clock.now(), this.#o.agingMs)) {
        if (this.#idle.length === 0 || this.#stopped) break;
        if (this.#emptyUntil[lane] > clock.now()) continue;
        const wanted = this.#idle.length;
        const rings = this.#rings[lane];
        const deliveries = await puller.pull(names.tasksStream, names.laneConsumer(lane), wanted);
        this.#lastServed[lane] = clock.now();
        if (deliveries.length < wanted && rings === this.#rings[lane]) {
          this.#emptyUntil[lane] = clock.now() + this.#o.idlePollMs;
        }
        for (const delivery of deliveries) {
          if (this.#stopped) this.#handBack(delivery);
          else this.#dispatch(delivery);
          started += 1;
        }
      }
      if (started === 0) await this.#sleep(this.#o.idlePollMs);
    }
  }

  #dispatch(delivery: Delivery): void {
    const slot = this.#idle.pop() as number;
    const done = this.#o
      .runTask(slot, delivery)
      .catch((error) => this.#o.log.warn({ err: error, slot }, "task ended with an error"))
      .finally(() => {
        this.#busy.delete(done);
        this.#idle.push(slot);
        this.#wake?.();
      });
    this.#busy.add(done);
  }

  #handBack(delivery: Delivery): void {
    const done = this.#o
      .handBack(delivery)
      .catch((error) => this.#o.log.warn({ err: error }, "hand-back failed; the lease will expire"))
      .finally(() => this.#busy.delete(done));
    this.#busy.add(done);
  }

  /** Waits for a slot to free up or the doorbell (or `ms`, when given). */
  #sleep(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      const cancel = ms === undefined ? () => undefined : this.#o.clock.schedule(done, ms);
      function done() {
        cancel();
        resolve();
      }
      this.#wake = () => {
        this.#wake = undefined;
        done();
      };
    });
  }
}
