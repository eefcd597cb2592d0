/**
 * The typed lifecycle events of actors and supervisors, for logs and metrics. `actor` is the
 * path of the actor concerned; `supervisor` the path of its parent (absent at the top level).
 */
export type ActorEvent =
  | StartedEvent
  | RestartedEvent
  | BackoffEvent
  | StoppedEvent
  | EscalatedEvent
  | FatalEvent
  | HookFailedEvent;

/** Why an actor stopped for good. */
export type StopReason = "normal" | "shutdown" | "crash";

export interface StartedEvent {
  type: "started";
  actor: string;
  supervisor: string | undefined;
  /** The child id under a supervisor. */
  child: string | undefined;
}

/** A supervised child got a fresh instance. */
export interface RestartedEvent {
  type: "restarted";
  actor: string;
  supervisor: string;
  child: string;
  /** The failure that caused the restart (the sibling's, for a sibling restart). */
  error: unknown;
  /** The message being handled when the child crashed; `undefined` for siblings. */
  message: unknown;
  /** True when the crash happened while handling `message` (not in `preStart`). */
  hasMessage: boolean;
  /** True when this child is restarted because a sibling failed. */
  sibling: boolean;
  /** Consecutive restarts of the failed child (1 after a quiet period). */
  attempt: number;
  delayMs: number;
}

/** A restart is scheduled after a back-off delay. */
export interface BackoffEvent {
  type: "backoff";
  actor: string;
  supervisor: string;
  child: string;
  delayMs: number;
  attempt: number;
}

export interface StoppedEvent {
  type: "stopped";
  actor: string;
  supervisor: string | undefined;
  child: string | undefined;
  reason: StopReason;
  /** For `crash`: what was thrown, and the message being handled (never dropped silently). */
  error?: unknown;
  message?: unknown;
}

/** A supervisor exceeded its restart intensity, stopped its children and failed to its parent. */
export interface EscalatedEvent {
  type: "escalated";
  actor: string;
  supervisor: string | undefined;
  /** The child whose failure exceeded the intensity. */
  child: string;
  error: unknown;
  message: unknown;
}

/** A top-level supervisor escalated: the system shuts down; `troupe start` exits non-zero. */
export interface FatalEvent {
  type: "fatal";
  actor: string;
  error: Error;
}

/** A lifecycle hook threw; the runtime carried on. */
export interface HookFailedEvent {
  type: "hook-failed";
  actor: string;
  hook: "postStop" | "preRestart";
  error: unknown;
}
