import type { Clock } from "../clock.ts";
import { PRIORITIES, type Priority } from "../contract/priorities.ts";
import type { Placement, Resources } from "../contract/resources.ts";
import type { Logger } from "../log.ts";
import type { ClusterView } from "../placement/cluster-view.ts";
import { fitCount, type PulledLane, pulledLanes } from "../placement/lane-plan.ts";
import { preferredOver } from "../placement/placement-policy.ts";
import { freeOf, NO_RESOURCES, plus, type WorkerCapacity } from "../placement/resources.ts";
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
  /**
   * The same for the lanes of a resource class, less often: an idle process would otherwise ask
   * 4 lanes per class every idle poll. New work rings its lane's doorbell at once; a task whose
   * lease ran out (its worker died) or that was handed back with a delay waits for this.
   */
  classIdlePollMs: number;
  /** Returns a pulled delivery that will not start here (stopping) without spending an attempt. */
  handBack(delivery: Delivery): Promise<void>;
  clock: Clock;
  log: Logger;
  placement: DispatcherPlacement;
}

/** What the dispatcher needs to place by resources (see placement/placement-policy.ts). */
export interface DispatcherPlacement {
  /** This worker: its capacity (cpu_cores: its slots), services and labels; nothing held. */
  readonly self: WorkerCapacity;
  readonly policy: Placement;
  /** The live workers and the registered classes, as this process sees them. */
  readonly view: Pick<ClusterView, "live" | "classes" | "onChange">;
  /** A class lane another worker is preferred for is left to it at most this long. */
  readonly maxDeferMs: number;
  /** What the running chunks hold changed (for the worker record). */
  allocated(resources: Resources): void;
}

/** A lane left to a preferred worker is looked at again this often (or when a record changes). */
const DEFER_RECHECK_MS = 50;

/**
 * Feeds the worker slots of this process. Whenever slots are idle it pulls tasks — never more
 * than it can start — from the lanes in priority order (with aging), without waiting on empty
 * lanes; with nothing to do it sleeps until the doorbell rings or the idle poll fires. A lane found
 * empty is not asked again until the doorbell rings (new tasks were queued) or the idle poll
 * period has passed (a retry's delay may have run out): asking every empty lane before each pull
 * would triple the pull requests the server answers when one lane holds the work.
 *
 * Within each priority it pulls the default lane (unless it serves only some services) and then
 * the lanes of the resource classes it could ever run, each only as many chunks as fit its free
 * capacity; a class lane another worker is preferred for by PLACEMENT is left to that worker for
 * a while when work arrives on it (placement-policy.ts). A chunk needing k cores holds k slots
 * while it runs.
 */
export class Dispatcher {
  readonly #o: DispatcherOptions;
  readonly #idle: number[];
  readonly #lastServed: Record<Priority, number>;
  /** Until when a lane (`<priority>` or `<priority>.<class>`) found empty is skipped. */
  readonly #emptyUntil = new Map<string, number>();
  /** Times the doorbell rang per lane: a pull that began before a ring cannot say its lane is empty. */
  readonly #rings = new Map<string, number>();
  /** Since when a class lane has been left to a preferred worker. */
  readonly #deferredSince = new Map<string, number>();
  /**
   * Class lanes that filled this worker's last pull: a backlog is flowing, and everyone pulls it.
   * PLACEMENT decides who takes the first tasks of a burst, on a lane last found empty.
   */
  readonly #flowing = new Set<string>();
  /** What the running chunks hold. */
  #held: Resources = NO_RESOURCES;
  /** Rings that named no lane (they count for every lane). */
  #allRings = 0;
  #stopWatching: (() => void) | undefined;
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
        if (PRIORITIES.includes(named.split(".")[0] as Priority)) this.#rang(named);
        else {
          this.#allRings += 1;
          this.#emptyUntil.clear();
        }
        this.#wake?.();
      },
    });
    // A record or class changed: a lane left to another worker may be this one's now, a new
    // class's lanes are there to pull.
    this.#stopWatching = this.#o.placement.view.onChange(() => this.#wake?.());
    this.#loop = this.#run().catch((error) =>
      this.#o.log.error({ err: error }, "dispatcher stopped"),
    );
  }

  /** Stops pulling; resolves once the tasks it started have ended (or were handed back). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#doorbell?.unsubscribe();
    this.#stopWatching?.();
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
    const { clock } = this.#o;
    while (!this.#stopped) {
      if (this.#idle.length === 0) {
        await this.#sleep(undefined);
        continue;
      }
      let started = 0;
      let deferred = false;
      const lanes = pulledLanes(this.#o.placement.self, this.#o.placement.view.classes());
      for (const priority of laneOrder(this.#lastServed, clock.now(), this.#o.agingMs)) {
        for (const lane of lanes) {
          if (this.#idle.length === 0 || this.#stopped) break;
          const result = await this.#pullLane(priority, lane);
          if (result === "deferred") deferred = true;
          else started += result;
        }
      }
      if (started === 0) await this.#sleep(deferred ? DEFER_RECHECK_MS : this.#o.idlePollMs);
    }
  }

  /** Pulls what fits now of one lane and starts it: how many started, or "deferred". */
  async #pullLane(priority: Priority, lane: PulledLane): Promise<number | "deferred"> {
    const { names, clock, placement } = this.#o;
    const key = lane.laneClass === undefined ? priority : `${priority}.${lane.laneClass}`;
    if ((this.#emptyUntil.get(key) ?? 0) > clock.now()) return 0;
    const need = lane.resourceClass.need;
    const wanted = Math.min(this.#idle.length, fitCount(this.#free(), need));
    if (wanted === 0) return 0;
    const placed = lane.laneClass !== undefined && !this.#flowing.has(key);
    if (placed && this.#leftToAnother(key, lane)) return "deferred";
    const rings = this.#ringsOf(key);
    const consumer =
      lane.laneClass === undefined
        ? names.laneConsumer(priority)
        : names.classLaneConsumer(priority, lane.laneClass);
    const puller = this.#puller as LanePuller;
    const deliveries = await puller.pull(names.tasksStream, consumer, wanted);
    this.#lastServed[priority] = clock.now();
    if (deliveries.length < wanted && rings === this.#ringsOf(key)) {
      const pollMs = lane.laneClass === undefined ? this.#o.idlePollMs : this.#o.classIdlePollMs;
      this.#emptyUntil.set(key, clock.now() + pollMs);
    }
    if (deliveries.length < wanted) this.#flowing.delete(key);
    else if (lane.laneClass !== undefined) this.#flowing.add(key);
    for (const delivery of deliveries) {
      if (this.#stopped) this.#handBack(delivery);
      else this.#dispatch(delivery, need);
    }
    if (deliveries.length > 0) placement.allocated(this.#held);
    return deliveries.length;
  }

  /**
   * True when PLACEMENT prefers another live worker that can take the lane's task now: the lane
   * is left to it, for at most `maxDeferMs` in a row.
   */
  #leftToAnother(key: string, lane: PulledLane): boolean {
    const { placement, clock } = this.#o;
    const me = { ...placement.self, allocated: this.#held };
    const peers = placement.view.live();
    const preferred = preferredOver(placement.policy, lane.resourceClass, me, peers);
    if (!preferred) {
      this.#deferredSince.delete(key);
      return false;
    }
    const since = this.#deferredSince.get(key) ?? clock.now();
    this.#deferredSince.set(key, since);
    if (clock.now() - since < placement.maxDeferMs) return true;
    this.#deferredSince.delete(key); // left long enough: the preferred worker is not taking it
    return false;
  }

  /** Free capacity now: its idle slots, and the memory and GPUs its running chunks leave. */
  #free(): Resources {
    const { self } = this.#o.placement;
    const free = freeOf({ total: self.total, allocated: this.#held });
    return { ...free, cpu_cores: this.#idle.length };
  }

  #ringsOf(lane: string): number {
    return (this.#rings.get(lane) ?? 0) + this.#allRings;
  }

  #rang(lane: string): void {
    this.#rings.set(lane, (this.#rings.get(lane) ?? 0) + 1);
    this.#emptyUntil.delete(lane);
  }

  #dispatch(delivery: Delivery, need: Resources): void {
    // A chunk needing k cores holds k slots: it runs on the last, the others wait with it.
    const slots = this.#idle.splice(-Math.max(1, need.cpu_cores));
    const slot = slots[slots.length - 1] as number;
    this.#held = plus(this.#held, need);
    const done = this.#o
      .runTask(slot, delivery)
      .catch((error) => this.#o.log.warn({ err: error, slot }, "task ended with an error"))
      .finally(() => {
        this.#busy.delete(done);
        this.#idle.push(...slots);
        this.#held = plus(this.#held, need, -1);
        this.#o.placement.allocated(this.#held);
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
