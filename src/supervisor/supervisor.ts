import type { Cell } from "../actors/actor-cell.ts";
import { type ActorSystem, spawnInternal } from "../actors/actor-system.ts";
import type { LocalActorRef } from "../actors/behavior.ts";
import type { EventStream } from "../actors/event-stream.ts";
import type { ActorEvent } from "../actors/events.ts";
import { LocalRef } from "../actors/local-ref.ts";
import type { ChildSpec } from "./child-spec.ts";
import {
  type ChildInfo,
  type StartChildResult,
  SupervisorInstance,
  type SupervisorMessage,
  supervisorBehavior,
} from "./supervisor-behavior.ts";
import {
  resolveSupervisorOptions,
  type SupervisorChildOptions,
  type SupervisorOptions,
  validateChildSpec,
} from "./supervisor-options.ts";

/**
 * A running supervisor. It is an actor: every decision goes through its mailbox one at a time,
 * and it can itself be the child of another supervisor (`supervisorChild`).
 */
export interface Supervisor {
  readonly ref: LocalActorRef;
  readonly path: string;
  /** Events about this supervisor and its direct children. */
  readonly events: EventStream<ActorEvent>;
  /** Starts a dynamic child (e.g. one actor per job). Rejects on a duplicate id or name. */
  startChild<M, R>(
    spec: ChildSpec<M, R>,
    options?: { timeoutMs?: number },
  ): Promise<LocalActorRef<M, R>>;
  /** Stops a child and forgets its spec; resolves false if there was no such child. */
  terminateChild(id: string, options?: { timeoutMs?: number }): Promise<boolean>;
  /** The current ref of a child (a snapshot; refs survive restarts). */
  child<M = unknown, R = unknown>(id: string): LocalActorRef<M, R> | undefined;
  /** The children in start order (a snapshot). */
  children(): ChildInfo[];
  /** The handle of a nested supervisor child. */
  childSupervisor(id: string): Supervisor | undefined;
  /** Stops the children (last started first), then the supervisor. Idempotent. */
  close(): Promise<void>;
  /** Resolves when the supervisor has stopped, with its escalation error if it gave up. */
  closed(): Promise<Error | undefined>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a top-level supervisor. If it escalates (restart intensity exceeded), the system emits
 * `fatal` and shuts down, and `system.closed()` resolves with the error: `troupe start` exits
 * non-zero for its process manager to restart it.
 */
export function createSupervisor(system: ActorSystem, options: SupervisorOptions = {}): Supervisor {
  const resolved = resolveSupervisorOptions(options);
  const cell = spawnInternal(
    system,
    supervisorBehavior(resolved),
    { name: options.name, shutdownMs: options.shutdownMs },
    undefined,
    { supervisor: true },
  );
  return new SupervisorHandle(cell);
}

/** A child spec for a supervisor nested under another one. */
export function supervisorChild(options: SupervisorChildOptions): ChildSpec {
  const { id, restart, name, shutdownMs, ...rest } = options;
  const resolved = resolveSupervisorOptions(rest);
  return {
    id,
    behavior: supervisorBehavior(resolved),
    restart,
    name,
    shutdownMs,
    supervisor: true,
  };
}

class SupervisorHandle implements Supervisor {
  readonly #cell: Cell;
  #events: EventStream<ActorEvent> | undefined;

  constructor(cell: Cell) {
    this.#cell = cell;
  }

  get ref(): LocalActorRef {
    return this.#cell.self;
  }

  get path(): string {
    return this.#cell.path;
  }

  get events(): EventStream<ActorEvent> {
    const path = this.#cell.path;
    this.#events ??= this.#cell.system.events.filter(
      (event) => event.actor === path || ("supervisor" in event && event.supervisor === path),
    );
    return this.#events;
  }

  async startChild<M, R>(
    spec: ChildSpec<M, R>,
    options: { timeoutMs?: number } = {},
  ): Promise<LocalActorRef<M, R>> {
    validateChildSpec(spec as ChildSpec);
    const message: SupervisorMessage = { kind: "start-child", spec: spec as ChildSpec };
    const result = (await this.#cell.self.ask(message, options)) as StartChildResult;
    if (!result.ok) throw result.error;
    return result.ref as LocalActorRef<M, R>;
  }

  async terminateChild(id: string, options: { timeoutMs?: number } = {}): Promise<boolean> {
    const message: SupervisorMessage = { kind: "terminate-child", id };
    return (await this.#cell.self.ask(message, options)) as boolean;
  }

  child<M, R>(id: string): LocalActorRef<M, R> | undefined {
    return this.children().find((child) => child.id === id)?.ref as LocalActorRef<M, R> | undefined;
  }

  children(): ChildInfo[] {
    const instance = this.#cell.instance;
    return instance instanceof SupervisorInstance ? instance.children() : [];
  }

  childSupervisor(id: string): Supervisor | undefined {
    const child = this.children().find((each) => each.id === id && each.supervisor);
    const cell = child === undefined ? undefined : LocalRef.cellOf(child.ref);
    return cell === undefined ? undefined : new SupervisorHandle(cell);
  }

  close(): Promise<void> {
    return this.#cell.terminate("shutdown");
  }

  closed(): Promise<Error | undefined> {
    return this.#cell.closed();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
