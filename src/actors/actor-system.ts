import { type Clock, systemClock } from "../clock.ts";
import {
  ActorNameTakenError,
  ActorStoppedError,
  NoResponderError,
  SupervisorEscalationError,
  TroupeError,
} from "../errors.ts";
import { Cell, type CellSettings } from "./actor-cell.ts";
import type { ActorRef, AskOptions, Behavior, LocalActorRef, SpawnOptions } from "./behavior.ts";
import { EventHub, type EventStream } from "./event-stream.ts";
import type { ActorEvent } from "./events.ts";
import type { CellHost, CellParent } from "./host.ts";
import { LocalRef } from "./local-ref.ts";
import {
  decodeMessage,
  decodeReply,
  encodeFailure,
  encodeMessage,
  type RemotePort,
  RemoteReply,
} from "./remote.ts";
import type { Reply } from "./reply.ts";
import { ACTOR_DEFAULTS, resolveSettings } from "./settings.ts";

export interface ActorSystemOptions {
  /** @default systemClock */
  clock?: Clock;
  /** Carries cluster-wide names to other processes; without it, names are local only. */
  remote?: RemotePort;
  /** Default `ask` timeout. @default 5_000 */
  askTimeoutMs?: number;
  /** Randomness for back-off jitter (tests pass a fixed one). @default Math.random */
  random?: () => number;
}

/** Sees every delivery (the one choke point) and every dead letter: metrics, tests, tracing. */
export interface DeliveryInspector {
  delivered?(actor: LocalActorRef, message: unknown, depth: number): void;
  deadLetter?(path: string, message: unknown): void;
}

export interface ActorSystemStats {
  /** Live actors. */
  actors: number;
  /** Messages that were never handled since start. */
  deadLetters: number;
  /** Mailbox depth of every named actor (names keep metric cardinality bounded). */
  mailboxes: { actor: string; depth: number }[];
}

/** Actors, their names and their lifecycle in one process. */
export interface ActorSystem {
  readonly clock: Clock;
  readonly random: () => number;
  readonly askTimeoutMs: number;
  /** `started`, `restarted`, `backoff`, `stopped`, `escalated`, `fatal`, `hook-failed`. */
  readonly events: EventStream<ActorEvent>;
  /** Starts a top-level actor (a crash stops it; put it under a supervisor to restart it). */
  spawn<M, R>(behavior: Behavior<M, R>, options?: SpawnOptions): LocalActorRef<M, R>;
  /** Stops an actor of this process and its children; resolves once `postStop` has run. */
  stop(ref: ActorRef): Promise<void>;
  /** The local actor registered under `name`. */
  lookup<M = unknown, R = unknown>(name: string): LocalActorRef<M, R> | undefined;
  /**
   * A location-transparent ref: the local actor named `name` if there is one, else the one
   * registered cluster-wide in another process. Resolved on every call, so it follows restarts
   * and moves; an unknown name fails fast with `NoResponderError`.
   */
  actorFor<M = unknown, R = unknown>(name: string): ActorRef<M, R>;
  /** Adds an inspector; returns the function that removes it. */
  inspect(inspector: DeliveryInspector): () => void;
  stats(): ActorSystemStats;
  /** Stops every actor, last spawned first, children before parents (memoized). */
  shutdown(): Promise<void>;
  /** Same as `shutdown()`. */
  close(): Promise<void>;
  /** Resolves after shutdown with the fatal error (root escalation), if any. Never rejects. */
  closed(): Promise<Error | undefined>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Creates an actor system. */
export function createActorSystem(options: ActorSystemOptions = {}): ActorSystem {
  return new ActorSystemImpl(options);
}

/**
 * Spawns with the internal extras (child id label, supervisor flag) under a parent cell or at the
 * top level. Internal: used by `src/supervisor`.
 */
export function spawnInternal(
  system: ActorSystem,
  behavior: Behavior,
  options: SpawnOptions,
  parent: Cell | undefined,
  extra: { label?: string; supervisor?: boolean },
): Cell {
  if (!(system instanceof ActorSystemImpl)) {
    throw new TypeError("not an actor system made by createActorSystem()");
  }
  return system.spawnCell(behavior, options, parent, extra);
}

/** Top-level actors' parent: a crash stops the actor; a supervisor escalating is fatal. */
class Guardian implements CellParent {
  readonly path = undefined;
  readonly children = new Set<Cell>();
  readonly #system: ActorSystemImpl;

  constructor(system: ActorSystemImpl) {
    this.#system = system;
  }

  childFailed(child: Cell, error: unknown): void {
    if (child.settings.supervisor) this.#system.fatal(child, error);
    else void child.terminate("crash");
  }

  childExited(): void {}

  childStopped(child: Cell): void {
    this.children.delete(child);
  }
}

class ActorSystemImpl implements ActorSystem, CellHost {
  readonly clock: Clock;
  readonly random: () => number;
  readonly askTimeoutMs: number;
  readonly events = new EventHub<ActorEvent>();
  readonly #remote: RemotePort | undefined;
  readonly #guardian = new Guardian(this);
  readonly #named = new Map<string, Cell>();
  readonly #served = new Map<Cell, () => void>();
  #inspectors: DeliveryInspector[] | undefined;
  #actors = 0;
  #deadLetters = 0;
  #shutdown: Promise<void> | undefined;
  #fatal: Error | undefined;
  #closedWaiters: ((error: Error | undefined) => void)[] = [];
  #closed = false;

  constructor(options: ActorSystemOptions) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.askTimeoutMs = options.askTimeoutMs ?? ACTOR_DEFAULTS.askTimeoutMs;
    this.#remote = options.remote;
  }

  get system(): ActorSystem {
    return this;
  }

  spawn<M, R>(behavior: Behavior<M, R>, options: SpawnOptions = {}): LocalActorRef<M, R> {
    return this.spawnCell(behavior as Behavior, options, undefined).self as LocalActorRef<M, R>;
  }

  spawnCell(
    behavior: Behavior,
    options: SpawnOptions,
    parent: Cell | undefined,
    extra: { label?: string; supervisor?: boolean } = {},
  ): Cell {
    if (this.#shutdown !== undefined) {
      throw new ActorStoppedError("the actor system is shut down: it cannot spawn actors");
    }
    const settings: CellSettings = resolveSettings(options, extra);
    const cell = new Cell(this, parent ?? this.#guardian, behavior, settings);
    if (parent === undefined) this.#guardian.children.add(cell);
    else parent.adopt(cell);
    try {
      cell.start();
    } catch (error) {
      if (parent === undefined) this.#guardian.children.delete(cell);
      else parent.childStopped(cell);
      throw error;
    }
    return cell;
  }

  stop(ref: ActorRef): Promise<void> {
    const cell =
      LocalRef.cellOf(ref) ?? (ref.name === undefined ? undefined : this.#named.get(ref.name));
    return cell === undefined ? Promise.resolve() : cell.terminate("shutdown");
  }

  lookup<M, R>(name: string): LocalActorRef<M, R> | undefined {
    return this.#named.get(name)?.self as LocalActorRef<M, R> | undefined;
  }

  actorFor<M, R>(name: string): ActorRef<M, R> {
    return new NamedRef(this, name) as ActorRef<M, R>;
  }

  // ---- delivery -----------------------------------------------------------------------------

  deliver(cell: Cell, message: unknown, reply: Reply | undefined, force = false): void {
    const inspectors = this.#inspectors;
    if (inspectors !== undefined) {
      for (const inspector of inspectors) {
        guard(() => inspector.delivered?.(cell.self, message, cell.mailboxDepth));
      }
    }
    cell.enqueue(message, reply, force);
  }

  deadLetter(cell: Cell | string, message: unknown): void {
    this.#deadLetters++;
    const inspectors = this.#inspectors;
    if (inspectors === undefined) return;
    const path = typeof cell === "string" ? cell : cell.path;
    for (const inspector of inspectors) guard(() => inspector.deadLetter?.(path, message));
  }

  inspect(inspector: DeliveryInspector): () => void {
    this.#inspectors = [...(this.#inspectors ?? []), inspector];
    return () => {
      const rest = (this.#inspectors ?? []).filter((each) => each !== inspector);
      this.#inspectors = rest.length === 0 ? undefined : rest;
    };
  }

  /** Delivers a named message locally, or sends it to the cluster. */
  tellNamed(name: string, message: unknown): void {
    const cell = this.#named.get(name);
    if (cell !== undefined) this.deliver(cell, message, undefined);
    else if (this.#remote !== undefined) this.#remote.send(name, encodeMessage(message));
    else this.deadLetter(name, message);
  }

  askNamed(name: string, message: unknown, options: AskOptions | undefined): Promise<unknown> {
    const cell = this.#named.get(name);
    if (cell !== undefined) return cell.ask(message, options);
    const remote = this.#remote;
    if (remote === undefined) {
      return Promise.reject(new NoResponderError(`no actor named "${name}" in this process`));
    }
    const timeoutMs = options?.timeoutMs ?? this.askTimeoutMs;
    const replied = remote.request(name, encodeMessage(message), timeoutMs).then(decodeReply);
    const signal = options?.signal;
    if (signal === undefined) return replied;
    return Promise.race([replied, aborted(signal)]);
  }

  // ---- names --------------------------------------------------------------------------------

  register(cell: Cell): void {
    this.#actors++;
    const { name, cluster } = cell.settings;
    if (name === undefined) return;
    if (this.#named.has(name)) {
      this.#actors--;
      throw new ActorNameTakenError(`an actor named "${name}" already exists`);
    }
    this.#named.set(name, cell);
    if (cluster && this.#remote !== undefined) {
      this.#served.set(cell, this.#remote.serve(name, this.#remoteHandler(cell)));
    }
  }

  #remoteHandler(cell: Cell) {
    return (payload: Uint8Array, respond: ((payload: Uint8Array) => void) | undefined) => {
      let message: unknown;
      try {
        message = decodeMessage(payload);
      } catch (error) {
        respond?.(encodeFailure(new TroupeError("TROUPE_ERR_BAD_REQUEST", String(error))));
        return;
      }
      if (respond !== undefined) {
        this.deliver(cell, message, new RemoteReply(respond));
        return;
      }
      try {
        this.deliver(cell, message, undefined);
      } catch {
        // A remote tell has nobody to throw to: the overflowing message is a dead letter.
        this.deadLetter(cell, message);
      }
    };
  }

  unserve(cell: Cell): void {
    const stop = this.#served.get(cell);
    if (stop === undefined) return;
    this.#served.delete(cell);
    stop();
  }

  unregister(cell: Cell): void {
    this.#actors--;
    this.unserve(cell);
    const name = cell.settings.name;
    if (name !== undefined && this.#named.get(name) === cell) this.#named.delete(name);
  }

  stats(): ActorSystemStats {
    const mailboxes = [...this.#named].map(([actor, cell]) => ({
      actor,
      depth: cell.mailboxDepth,
    }));
    return { actors: this.#actors, deadLetters: this.#deadLetters, mailboxes };
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /** A top-level supervisor escalated: report, stop it, shut the system down. */
  fatal(cell: Cell, error: unknown): void {
    const fatal =
      error instanceof Error
        ? error
        : new SupervisorEscalationError(`supervisor ${cell.path} failed: ${String(error)}`);
    this.#fatal ??= fatal;
    if (this.events.active) this.events.emit({ type: "fatal", actor: cell.path, error: fatal });
    void cell.terminate("crash").then(() => this.shutdown());
  }

  shutdown(): Promise<void> {
    this.#shutdown ??= this.#stopAll();
    return this.#shutdown;
  }

  async #stopAll(): Promise<void> {
    for (const cell of [...this.#guardian.children].reverse()) {
      try {
        await cell.terminate("shutdown");
      } catch {
        // Every actor gets its turn even if one fails to stop.
      }
    }
    this.#closed = true;
    for (const resolve of this.#closedWaiters) resolve(this.#fatal);
    this.#closedWaiters = [];
  }

  close(): Promise<void> {
    return this.shutdown();
  }

  closed(): Promise<Error | undefined> {
    if (this.#closed) return Promise.resolve(this.#fatal);
    return new Promise((resolve) => this.#closedWaiters.push(resolve));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}

/** A ref by name, resolved on each call: local first, then the cluster. */
class NamedRef implements ActorRef {
  readonly name: string;
  readonly #system: ActorSystemImpl;

  constructor(system: ActorSystemImpl, name: string) {
    this.#system = system;
    this.name = name;
  }

  get path(): string {
    return this.name;
  }

  tell(message: unknown): void {
    this.#system.tellNamed(this.name, message);
  }

  ask(message: unknown, options?: AskOptions): Promise<unknown> {
    return this.#system.askNamed(this.name, message, options);
  }
}

/** An inspector must not break delivery: what it throws becomes a process warning. */
function guard(fn: () => void): void {
  try {
    fn();
  } catch (error) {
    process.emitWarning(`troupe delivery inspector threw: ${String(error)}`);
  }
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}
