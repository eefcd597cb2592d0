import type { Clock } from "../clock.ts";
import type { ActorSystem } from "./actor-system.ts";
import type { OverflowPolicy } from "./mailbox.ts";

/**
 * How to reach an actor: the same two calls whether it lives in this process or another one.
 *
 * @typeParam M - the messages it accepts.
 * @typeParam R - what `ask` resolves with (the value `receive` returns).
 */
export interface ActorRef<M = unknown, R = unknown> {
  /** The registered name, if any. */
  readonly name: string | undefined;
  /** A readable path for logs (`jobs/job-42`). */
  readonly path: string;
  /**
   * Fire and forget. A local actor with overflow `reject` throws `MailboxFullError` when full;
   * a message to a stopped actor, or one that cannot be delivered remotely, becomes a dead letter.
   */
  tell(message: M): void;
  /**
   * Request and reply. Rejects with `AskTimeoutError` after `timeoutMs`, `ActorCrashedError` if
   * the handler throws on this message, `ActorStoppedError` if the actor stops before replying,
   * `MailboxFullError` on overflow, and `NoResponderError` (at once) for an unknown name.
   */
  ask(message: M, options?: AskOptions): Promise<R>;
}

/** A reference to an actor of this process: it also exposes its mailbox and liveness. */
export interface LocalActorRef<M = unknown, R = unknown> extends ActorRef<M, R> {
  /** Messages waiting in the mailbox. */
  readonly mailboxDepth: number;
  /** False once the actor has stopped for good (a restart keeps the same ref alive). */
  readonly isAlive: boolean;
  /** Resolves when the actor has stopped for good, with the error that stopped it, if any. */
  closed(): Promise<Error | undefined>;
}

export interface AskOptions {
  /** @default the system's `askTimeoutMs` (5 000 ms) */
  timeoutMs?: number;
  /** Aborting rejects the ask with the signal's reason (the message stays delivered). */
  signal?: AbortSignal;
}

/** What an actor sees of the runtime; the same object across restarts. */
export interface ActorContext<M = unknown, R = unknown> {
  readonly self: LocalActorRef<M, R>;
  readonly name: string | undefined;
  readonly path: string;
  readonly system: ActorSystem;
  readonly clock: Clock;
  /** Spawns a child: it stops before this actor stops or restarts; if it crashes it is stopped. */
  spawn<CM, CR>(behavior: Behavior<CM, CR>, options?: SpawnOptions): LocalActorRef<CM, CR>;
  /** Stops this actor normally once the current message is handled (its supervisor decides the
   * rest: `permanent` children are restarted, others are not). */
  stop(): void;
}

/**
 * One incarnation of an actor. A fresh instance is made for every start and restart, so state
 * kept in it (or in the factory's closure) is reset by a restart, as in OTP.
 */
export interface ActorInstance<M = unknown, R = unknown> {
  /**
   * Handles one message; the returned value (or the promise's value) answers an `ask`. The next
   * message waits until the returned promise settles. Throwing or rejecting crashes the actor.
   */
  receive(message: M, ctx: ActorContext<M, R>): R | Promise<R>;
  /** Before the first message, on every start and restart. Messages wait for it. */
  preStart?(ctx: ActorContext<M, R>): void | Promise<void>;
  /** After the last message of this instance: on stop, and before a restart. */
  postStop?(ctx: ActorContext<M, R>): void | Promise<void>;
  /**
   * On the crashed instance, before its `postStop`: `message` is the one being handled when it
   * crashed (`undefined` if it crashed in `preStart`), so the domain can requeue it.
   */
  preRestart?(
    error: unknown,
    message: M | undefined,
    ctx: ActorContext<M, R>,
  ): void | Promise<void>;
  /** On the fresh instance after a restart, after its `preStart`. */
  postRestart?(error: unknown, ctx: ActorContext<M, R>): void | Promise<void>;
}

/** Makes a fresh instance; called at spawn and at every restart. */
export type Behavior<M = unknown, R = unknown> = (ctx: ActorContext<M, R>) => ActorInstance<M, R>;

export interface SpawnOptions {
  /** Registers the actor under this name (unique in the system): `[A-Za-z0-9_-]` tokens joined
   * by `.`, so it is also a valid NATS subject token. */
  name?: string;
  /** Also serve the name cluster-wide over the system's `RemotePort` (`troupe.actor.<name>`). */
  cluster?: boolean;
  /** @default 10_000 */
  mailboxSize?: number;
  /** @default "reject" — overflow is an error to the sender, never silent loss. */
  overflow?: OverflowPolicy;
  /** Budget for the in-flight message and `postStop` when stopping. @default 5_000 */
  shutdownMs?: number;
}
