import type { Behavior } from "../actors/behavior.ts";
import type { OverflowPolicy } from "../actors/mailbox.ts";

/**
 * When a child is restarted (OTP): `permanent` always; `transient` only after a crash, not after
 * it stopped itself normally; `temporary` never (it is removed when it ends).
 */
export type RestartType = "permanent" | "transient" | "temporary";

/** How a child ended: it threw (`crash`), or stopped itself (`normal`). */
export type ChildExit = "crash" | "normal";

/** A child of a supervisor. */
export interface ChildSpec<M = unknown, R = unknown> {
  /** Unique among the supervisor's children; part of the child's path. */
  id: string;
  behavior: Behavior<M, R>;
  /** @default "permanent" */
  restart?: RestartType;
  /** Budget for the child's in-flight message and `postStop` when it stops. @default 5_000 */
  shutdownMs?: number;
  /** Registers the child under this name (see `SpawnOptions.name`). */
  name?: string;
  /** Serves the name cluster-wide (see `SpawnOptions.cluster`). */
  cluster?: boolean;
  mailboxSize?: number;
  overflow?: OverflowPolicy;
  /** Set by `supervisorChild()`: the child is itself a supervisor. */
  supervisor?: boolean;
}

/** A child spec of any message type: a supervisor's children are heterogeneous. */
// biome-ignore lint/suspicious/noExplicitAny: children of different message types share one list; each spec is type-checked where it is written.
export type AnyChildSpec = ChildSpec<any, any>;

/** The restart decision for one child exit — a pure function of the restart type. */
export function shouldRestart(restart: RestartType, exit: ChildExit): boolean {
  switch (restart) {
    case "permanent":
      return true;
    case "transient":
      return exit === "crash";
    case "temporary":
      return false;
  }
}
