import type { Clock } from "../clock.ts";
import type { Cell } from "./actor-cell.ts";
import type { ActorSystem } from "./actor-system.ts";
import type { Behavior, SpawnOptions } from "./behavior.ts";
import type { EventHub } from "./event-stream.ts";
import type { ActorEvent } from "./events.ts";
import type { Reply } from "./reply.ts";

/** What a cell needs from its actor system (internal). */
export interface CellHost {
  readonly system: ActorSystem;
  readonly clock: Clock;
  readonly events: EventHub<ActorEvent>;
  readonly askTimeoutMs: number;
  /** Creates and starts a cell under `parent` (a cell, or the guardian when undefined). */
  spawnCell(
    behavior: Behavior,
    options: SpawnOptions,
    parent: Cell | undefined,
    extra?: { label?: string; supervisor?: boolean },
  ): Cell;
  /** The one delivery choke point: every tell and ask, local or remote, passes here. */
  deliver(cell: Cell, message: unknown, reply: Reply | undefined, force?: boolean): void;
  /** A message that will never be handled (actor stopped, pushed out by `drop-oldest`). */
  deadLetter(cell: Cell, message: unknown): void;
  /** Claims the cell's name (throws if taken) and serves it remotely when `cluster`. */
  register(cell: Cell): void;
  /** Stops remote intake for the cell's name. */
  unserve(cell: Cell): void;
  /** Releases the cell's name. */
  unregister(cell: Cell): void;
}

/** Whoever supervises a cell: another cell, or the system's guardian (internal). */
export interface CellParent {
  readonly path: string | undefined;
  /** The child threw (in a handler, or starting); it is suspended until the parent decides. */
  childFailed(child: Cell, error: unknown, message: unknown, hasMessage: boolean): void;
  /** The child stopped itself (`ctx.stop()`); it is already stopped. */
  childExited(child: Cell): void;
  /** The child has stopped for good, whatever the reason. */
  childStopped(child: Cell): void;
}

/** Hooks a behavior may carry (under symbols) to supervise its children, as supervisors do. */
export const SUPERVISE: unique symbol = Symbol("troupe.supervise");
export const CHILD_EXITED: unique symbol = Symbol("troupe.childExited");
export const STOP_CHILDREN: unique symbol = Symbol("troupe.stopChildren");

export interface SupervisionHooks {
  [SUPERVISE]?(child: Cell, error: unknown, message: unknown, hasMessage: boolean): void;
  [CHILD_EXITED]?(child: Cell): void;
  /** Stops the children in the order the behavior wants, before the cell's own `postStop`. */
  [STOP_CHILDREN]?(): Promise<void>;
}
