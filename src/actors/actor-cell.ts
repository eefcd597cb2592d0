import type { Clock } from "../clock.ts";
import { ActorCrashedError, ActorStoppedError, MailboxFullError } from "../errors.ts";
import type { ActorSystem } from "./actor-system.ts";
import type {
  ActorContext,
  ActorInstance,
  AskOptions,
  Behavior,
  LocalActorRef,
  SpawnOptions,
} from "./behavior.ts";
import { Budget, isThenable } from "./bounded.ts";
import type { StopReason } from "./events.ts";
import {
  type CellHost,
  type CellParent,
  CHILD_EXITED,
  STOP_CHILDREN,
  SUPERVISE,
  type SupervisionHooks,
} from "./host.ts";
import { LocalRef } from "./local-ref.ts";
import { Mailbox } from "./mailbox.ts";
import { PendingAsk, type Reply } from "./reply.ts";
import { enqueueRunnable, type Runnable } from "./scheduler.ts";

const STARTING = 0;
const RUNNING = 1;
/** Crashed and waiting for its parent, or torn down and waiting to restart: mailbox kept. */
const SUSPENDED = 2;
const STOPPING = 3;
const STOPPED = 4;

/** Resolved per-actor settings (internal). */
export interface CellSettings {
  name: string | undefined;
  cluster: boolean;
  mailboxSize: number;
  dropOldest: boolean;
  shutdownMs: number;
  /** The child id under a supervisor, used in the path. */
  label: string | undefined;
  /** A supervisor: its escalation at the top level is fatal. */
  supervisor: boolean;
}

interface Crash {
  error: unknown;
  message: unknown;
  hasMessage: boolean;
}

let nextSeq = 0;

/**
 * The runtime of one actor: its mailbox, its current instance and its lifecycle. The cell stays
 * the same across restarts (so do its ref, name and queued messages); only the instance is new.
 * It is also the `ActorContext` handed to the behavior (internal; users see the interfaces).
 */
export class Cell implements ActorContext, Runnable, CellParent {
  readonly self: LocalActorRef;
  readonly host: CellHost;
  readonly parent: CellParent;
  readonly settings: CellSettings;
  #behavior: Behavior;
  #seq = nextSeq++;
  #instance: ActorInstance | undefined;
  #instanceLive = false;
  #incarnation = 0;
  #state = STARTING;
  #mailbox: Mailbox | undefined;
  #queued = false;
  #handling = false;
  #busy = false;
  #inflight: Promise<unknown> | undefined;
  #currentMessage: unknown;
  #currentReply: Reply | undefined;
  #onResolved: ((value: unknown) => void) | undefined;
  #onRejected: ((error: unknown) => void) | undefined;
  #crash: Crash | undefined;
  #stopRequested = false;
  #children: Set<Cell> | undefined;
  #teardown: Promise<void> | undefined;
  #terminating: Promise<void> | undefined;
  #exit: { error: Error | undefined } | undefined;
  #closedWaiters: ((error: Error | undefined) => void)[] | undefined;

  constructor(host: CellHost, parent: CellParent, behavior: Behavior, settings: CellSettings) {
    this.host = host;
    this.parent = parent;
    this.#behavior = behavior;
    this.settings = settings;
    this.self = new LocalRef(this);
  }

  // ---- ActorContext -------------------------------------------------------------------------

  get name(): string | undefined {
    return this.settings.name;
  }

  get path(): string {
    const own = this.settings.label ?? this.settings.name ?? `$${this.#seq}`;
    const parent = this.parent.path;
    return parent === undefined ? own : `${parent}/${own}`;
  }

  get system(): ActorSystem {
    return this.host.system;
  }

  get clock(): Clock {
    return this.host.clock;
  }

  spawn<CM, CR>(behavior: Behavior<CM, CR>, options: SpawnOptions = {}): LocalActorRef<CM, CR> {
    return this.host.spawnCell(behavior as Behavior, options, this).self as LocalActorRef<CM, CR>;
  }

  stop(): void {
    if (this.#state >= STOPPING) return;
    this.#stopRequested = true;
    if (!this.#handling && !this.#busy && this.#state === RUNNING) this.#selfStop();
  }

  // ---- state seen by refs, parents and the system --------------------------------------------

  get mailboxDepth(): number {
    return this.#mailbox?.depth ?? 0;
  }

  get isAlive(): boolean {
    return this.#state < STOPPING;
  }

  /** Changes whenever an instance ends: a failure report from an older incarnation is stale. */
  get incarnation(): number {
    return this.#incarnation;
  }

  get isStopped(): boolean {
    return this.#state === STOPPED;
  }

  /** The live instance, for supervision code that inspects its own state (internal). */
  get instance(): ActorInstance | undefined {
    return this.#instance;
  }

  closed(): Promise<Error | undefined> {
    if (this.#exit !== undefined) return Promise.resolve(this.#exit.error);
    return new Promise((resolve) => {
      this.#closedWaiters ??= [];
      this.#closedWaiters.push(resolve);
    });
  }

  // ---- delivery -----------------------------------------------------------------------------

  /** Called by the system's `deliver` only. `force` skips the bound (supervision messages). */
  enqueue(message: unknown, reply: Reply | undefined, force = false): void {
    if (this.#state >= STOPPING) {
      this.host.deadLetter(this, message);
      reply?.reject(new ActorStoppedError(`actor ${this.path} is stopped`));
      return;
    }
    this.#mailbox ??= new Mailbox(this.settings.mailboxSize);
    const mailbox = this.#mailbox;
    if (!force && mailbox.depth >= mailbox.limit) {
      if (!this.settings.dropOldest) {
        const error = new MailboxFullError(
          `mailbox of ${this.path} is full (${mailbox.limit} messages)`,
        );
        if (reply === undefined) throw error;
        reply.reject(error);
        return;
      }
      const dropped = mailbox.peekMessage();
      const droppedReply = mailbox.peekReply();
      mailbox.drop();
      this.host.deadLetter(this, dropped);
      droppedReply?.reject(
        new MailboxFullError(`message to ${this.path} dropped: mailbox full (drop-oldest)`),
      );
    }
    mailbox.push(message, reply);
    if (!this.#queued && this.#state === RUNNING && !this.#busy) {
      this.#queued = true;
      enqueueRunnable(this);
    }
  }

  ask(message: unknown, options: AskOptions | undefined): Promise<unknown> {
    const timeoutMs = options?.timeoutMs ?? this.host.askTimeoutMs;
    return new Promise((resolve, reject) => {
      const pending = new PendingAsk(resolve, reject);
      this.host.deliver(this, message, pending);
      if (pending.settled) return;
      pending.arm(this.host.clock, timeoutMs, this);
      if (options?.signal !== undefined) pending.bind(options.signal);
    });
  }

  /** Handles up to `budget` messages, one at a time; stops at the first async handler. */
  run(budget: number): number {
    let handled = 0;
    const mailbox = this.#mailbox;
    while (
      mailbox !== undefined &&
      mailbox.depth > 0 &&
      this.#state === RUNNING &&
      !this.#busy &&
      !this.#stopRequested
    ) {
      if (handled >= budget) {
        enqueueRunnable(this);
        return handled;
      }
      const message = mailbox.peekMessage();
      const reply = mailbox.peekReply();
      mailbox.drop();
      handled++;
      let result: unknown;
      this.#handling = true;
      try {
        result = (this.#instance as ActorInstance).receive(message, this);
      } catch (error) {
        this.#handling = false;
        this.#crashed(error, message, reply, true);
        break;
      }
      this.#handling = false;
      if (isThenable(result)) {
        this.#awaitResult(result, message, reply);
        break;
      }
      reply?.resolve(result);
    }
    this.#queued = false;
    if (this.#stopRequested && !this.#busy && this.#state === RUNNING) this.#selfStop();
    return handled;
  }

  #awaitResult(result: PromiseLike<unknown>, message: unknown, reply: Reply | undefined): void {
    this.#busy = true;
    this.#currentMessage = message;
    this.#currentReply = reply;
    this.#onResolved ??= this.#resolver(this.#incarnation);
    this.#onRejected ??= this.#rejecter(this.#incarnation);
    this.#inflight = Promise.resolve(result).then(this.#onResolved, this.#onRejected);
  }

  #resolver(incarnation: number): (value: unknown) => void {
    return (value) => {
      if (incarnation !== this.#incarnation) return;
      const reply = this.#finishAsync();
      reply?.resolve(value);
      this.#wake();
    };
  }

  #rejecter(incarnation: number): (error: unknown) => void {
    return (error) => {
      if (incarnation !== this.#incarnation) return;
      const message = this.#currentMessage;
      const reply = this.#finishAsync();
      if (this.#state === RUNNING) this.#crashed(error, message, reply, true);
      else reply?.reject(crashError(this.path, error));
    };
  }

  #finishAsync(): Reply | undefined {
    const reply = this.#currentReply;
    this.#busy = false;
    this.#inflight = undefined;
    this.#currentMessage = undefined;
    this.#currentReply = undefined;
    return reply;
  }

  /** Queues the cell if it may handle messages now. */
  #wake(): void {
    if (this.#state !== RUNNING || this.#busy) return;
    if (this.#stopRequested) {
      this.#selfStop();
      return;
    }
    if (!this.#queued && this.#mailbox !== undefined && this.#mailbox.depth > 0) {
      this.#queued = true;
      enqueueRunnable(this);
    }
  }

  #crashed(error: unknown, message: unknown, reply: Reply | undefined, hasMessage: boolean): void {
    this.#state = SUSPENDED;
    this.#crash = { error, message, hasMessage };
    reply?.reject(crashError(this.path, error));
    this.parent.childFailed(this, error, message, hasMessage);
  }

  #selfStop(): void {
    void this.terminate("normal").then(() => this.parent.childExited(this));
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /** Registers the name and starts the first instance (called once, by the system). */
  start(): void {
    this.host.register(this);
    const events = this.host.events;
    if (events.active) {
      events.emit({
        type: "started",
        actor: this.path,
        supervisor: this.parent.path,
        child: this.settings.label,
      });
    }
    this.#startInstance(undefined, false);
  }

  /** Gives a torn-down cell a fresh instance; a no-op once the cell is stopping. */
  restart(reason: unknown): void {
    if (this.#state !== SUSPENDED || this.#instanceLive) return;
    this.#crash = undefined;
    this.#startInstance(reason, true);
  }

  #startInstance(reason: unknown, isRestart: boolean): void {
    this.#state = STARTING;
    this.#stopRequested = false;
    let instance: ActorInstance;
    try {
      instance = this.#behavior(this);
    } catch (error) {
      this.#crashed(error, undefined, undefined, false);
      return;
    }
    this.#instance = instance;
    this.#instanceLive = true;
    const postRestart = isRestart ? instance.postRestart : undefined;
    if (instance.preStart === undefined && postRestart === undefined) {
      this.#state = RUNNING;
      this.#wake();
      return;
    }
    const incarnation = this.#incarnation;
    const started = async () => {
      await instance.preStart?.(this);
      await postRestart?.call(instance, reason, this);
    };
    started().then(
      () => {
        if (incarnation !== this.#incarnation || this.#state !== STARTING) return;
        this.#state = RUNNING;
        this.#wake();
      },
      (error: unknown) => {
        if (incarnation !== this.#incarnation || this.#state !== STARTING) return;
        this.#crashed(error, undefined, undefined, false);
      },
    );
  }

  /**
   * Ends the current instance so the cell can restart: stops taking messages (the mailbox is
   * kept), stops children, waits for the in-flight message, then `preRestart` (crashed instance
   * only, with the crashing message) and `postStop` — all within `shutdownMs`.
   */
  prepareRestart(): Promise<void> {
    if (this.#state >= STOPPING || !this.#instanceLive) return this.#teardown ?? Promise.resolve();
    this.#teardown ??= this.#tearDown().finally(() => {
      this.#teardown = undefined;
    });
    return this.#teardown;
  }

  async #tearDown(): Promise<void> {
    this.#state = SUSPENDED;
    await this.#stopChildren();
    const budget = new Budget(this.host.clock, this.settings.shutdownMs);
    try {
      await this.#awaitInflight(budget, "restarted");
      const instance = this.#instance as ActorInstance;
      const crash = this.#crash;
      if (crash !== undefined && instance.preRestart !== undefined) {
        const message = crash.hasMessage ? crash.message : undefined;
        await budget.run(
          () => instance.preRestart?.(crash.error, message, this),
          (error) => this.#hookFailed("preRestart", error),
        );
      }
      await this.#postStop(instance, budget);
    } finally {
      budget.dispose();
      this.#instanceLive = false;
      this.#incarnation++;
      this.#onResolved = undefined;
      this.#onRejected = undefined;
    }
  }

  /**
   * Stops for good (memoized): rejects queued asks, stops children (last started first), waits
   * for the in-flight message, runs `postStop` — within `shutdownMs` — then releases the name.
   */
  terminate(reason: StopReason): Promise<void> {
    this.#terminating ??= this.#terminate(reason);
    return this.#terminating;
  }

  async #terminate(reason: StopReason): Promise<void> {
    this.#state = STOPPING;
    this.host.unserve(this);
    this.#mailbox?.drain((message, reply) => {
      this.host.deadLetter(this, message);
      reply?.reject(
        new ActorStoppedError(`actor ${this.path} stopped before handling this message`),
      );
    });
    await this.#stopChildren();
    if (this.#teardown !== undefined) await this.#teardown;
    const instance = this.#instance;
    if (this.#instanceLive && instance !== undefined) {
      const budget = new Budget(this.host.clock, this.settings.shutdownMs);
      try {
        await this.#awaitInflight(budget, "stopped");
        await this.#postStop(instance, budget);
      } finally {
        budget.dispose();
      }
    }
    this.#instanceLive = false;
    this.#incarnation++;
    this.#state = STOPPED;
    this.host.unregister(this);
    this.parent.childStopped(this);
    const crash = reason === "crash" ? this.#crash : undefined;
    const events = this.host.events;
    if (events.active) {
      events.emit({
        type: "stopped",
        actor: this.path,
        supervisor: this.parent.path,
        child: this.settings.label,
        reason,
        ...(crash === undefined ? {} : { error: crash.error, message: crash.message }),
      });
    }
    const error = crash === undefined ? undefined : asError(crash.error);
    this.#exit = { error };
    for (const resolve of this.#closedWaiters ?? []) resolve(error);
    this.#closedWaiters = undefined;
  }

  async #awaitInflight(budget: Budget, what: string): Promise<void> {
    if (!this.#busy) return;
    await budget.within(this.#inflight);
    if (!this.#busy) return;
    // The handler outlived the budget: abandon it. Its late result is ignored (incarnation).
    const reply = this.#finishAsync();
    reply?.reject(new ActorStoppedError(`actor ${this.path} ${what} before replying`));
  }

  async #postStop(instance: ActorInstance, budget: Budget): Promise<void> {
    if (instance.postStop === undefined) return;
    await budget.run(
      () => instance.postStop?.(this),
      (error) => this.#hookFailed("postStop", error),
    );
  }

  #hookFailed(hook: "postStop" | "preRestart", error: unknown): void {
    const events = this.host.events;
    if (events.active) events.emit({ type: "hook-failed", actor: this.path, hook, error });
  }

  async #stopChildren(): Promise<void> {
    const hooks = this.#instance as SupervisionHooks | undefined;
    if (this.#instanceLive && hooks?.[STOP_CHILDREN] !== undefined) await hooks[STOP_CHILDREN]();
    const children = this.#children;
    if (children === undefined || children.size === 0) return;
    for (const child of [...children].reverse()) await child.terminate("shutdown");
  }

  // ---- as a parent --------------------------------------------------------------------------

  /** Adds a child cell (the system calls this when spawning under this cell). */
  adopt(child: Cell): void {
    if (this.#state >= STOPPING) {
      throw new ActorStoppedError(`actor ${this.path} is stopping: it cannot spawn children`);
    }
    this.#children ??= new Set();
    this.#children.add(child);
  }

  childFailed(child: Cell, error: unknown, message: unknown, hasMessage: boolean): void {
    const hooks = this.#instance as SupervisionHooks | undefined;
    if (this.#instanceLive && hooks?.[SUPERVISE] !== undefined) {
      hooks[SUPERVISE](child, error, message, hasMessage);
      return;
    }
    void child.terminate("crash");
  }

  childExited(child: Cell): void {
    const hooks = this.#instance as SupervisionHooks | undefined;
    if (this.#instanceLive && hooks?.[CHILD_EXITED] !== undefined) hooks[CHILD_EXITED](child);
  }

  childStopped(child: Cell): void {
    this.#children?.delete(child);
  }
}

function crashError(path: string, error: unknown): ActorCrashedError {
  const reason = error instanceof Error ? error.message : String(error);
  return new ActorCrashedError(`actor ${path} crashed handling this message: ${reason}`, {
    cause: error,
  });
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
