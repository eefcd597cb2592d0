import { Cell } from "../actors/actor-cell.ts";
import { spawnInternal } from "../actors/actor-system.ts";
import type { ActorContext, ActorInstance, Behavior, LocalActorRef } from "../actors/behavior.ts";
import { CHILD_EXITED, STOP_CHILDREN, SUPERVISE, type SupervisionHooks } from "../actors/host.ts";
import { ActorOptionsError, ActorStoppedError, SupervisorEscalationError } from "../errors.ts";
import { type BackoffState, INITIAL_BACKOFF, nextBackoff } from "./backoff.ts";
import { type ChildExit, type ChildSpec, type RestartType, shouldRestart } from "./child-spec.ts";
import { type RestartHistory, registerRestart } from "./intensity.ts";
import { planRestart } from "./strategy.ts";
import type { ResolvedSupervisorOptions } from "./supervisor-options.ts";

/** A child as the supervisor reports it. */
export interface ChildInfo {
  id: string;
  ref: LocalActorRef;
  restart: RestartType;
  /** `restarting`: torn down, waiting for its back-off delay. */
  status: "running" | "restarting";
  supervisor: boolean;
}

/** The supervisor's protocol (internal: use the `Supervisor` handle). */
export type SupervisorMessage =
  | { kind: "start-child"; spec: ChildSpec }
  | { kind: "terminate-child"; id: string }
  | {
      kind: "child-failed";
      cell: Cell;
      incarnation: number;
      error: unknown;
      message: unknown;
      hasMessage: boolean;
    }
  | { kind: "child-exited"; cell: Cell }
  | { kind: "restart-due"; token: number };

export type StartChildResult = { ok: true; ref: LocalActorRef } | { ok: false; error: unknown };

interface Entry {
  spec: ChildSpec;
  restart: RestartType;
  cell: Cell;
  status: "running" | "restarting";
  backoff: BackoffState;
  /** The pending restart batch this child waits for (0: none). */
  token: number;
}

interface Batch {
  ids: string[];
  failedId: string;
  error: unknown;
  message: unknown;
  hasMessage: boolean;
  attempt: number;
  delayMs: number;
  cancel: (() => void) | undefined;
}

/** The behavior of a supervisor: an actor whose mailbox serializes every supervision decision. */
export function supervisorBehavior(options: ResolvedSupervisorOptions): Behavior {
  return (ctx) => new SupervisorInstance(cellOf(ctx), options);
}

function cellOf(ctx: ActorContext): Cell {
  if (!(ctx instanceof Cell)) throw new TypeError("supervisors run only in a troupe actor system");
  return ctx;
}

/**
 * One incarnation of a supervisor. It only applies the pure decisions (`shouldRestart`,
 * `registerRestart`, `planRestart`, `nextBackoff`); its state — children, restart history —
 * is reset when the supervisor itself restarts, as in OTP.
 */
export class SupervisorInstance implements ActorInstance, SupervisionHooks {
  readonly #cell: Cell;
  readonly #options: ResolvedSupervisorOptions;
  #entries: Entry[] = [];
  #history: RestartHistory = [];
  #batches = new Map<number, Batch>();
  #nextToken = 1;

  constructor(cell: Cell, options: ResolvedSupervisorOptions) {
    this.#cell = cell;
    this.#options = options;
  }

  /** A snapshot of the children, in start order. */
  children(): ChildInfo[] {
    return this.#entries.map((entry) => ({
      id: entry.spec.id,
      ref: entry.cell.self,
      restart: entry.restart,
      status: entry.status,
      supervisor: entry.spec.supervisor === true,
    }));
  }

  preStart(): void {
    for (const spec of this.#options.children) this.#spawn(spec);
  }

  postStop(): void {
    for (const batch of this.#batches.values()) batch.cancel?.();
    this.#batches.clear();
  }

  receive(message: SupervisorMessage): unknown {
    switch (message.kind) {
      case "start-child":
        return this.#startChild(message.spec);
      case "terminate-child":
        return this.#terminateChild(message.id);
      case "child-failed": {
        const entry = this.#entryOf(message.cell);
        if (entry === undefined || message.incarnation !== message.cell.incarnation) return;
        return this.#onExit(entry, "crash", message.error, message.message, message.hasMessage);
      }
      case "child-exited": {
        const entry = this.#entryOf(message.cell);
        if (entry === undefined) return;
        const reason = new ActorStoppedError(`child "${entry.spec.id}" stopped itself`);
        return this.#onExit(entry, "normal", reason, undefined, false);
      }
      case "restart-due":
        return this.#restartBatch(message.token);
    }
  }

  [SUPERVISE](child: Cell, error: unknown, message: unknown, hasMessage: boolean): void {
    const incarnation = child.incarnation;
    this.#tellSelf({ kind: "child-failed", cell: child, incarnation, error, message, hasMessage });
  }

  [CHILD_EXITED](child: Cell): void {
    this.#tellSelf({ kind: "child-exited", cell: child });
  }

  async [STOP_CHILDREN](): Promise<void> {
    this.postStop();
    const entries = this.#entries;
    this.#entries = [];
    for (const entry of entries.reverse()) await entry.cell.terminate("shutdown");
  }

  // Supervision messages skip the mailbox bound: a failure report must never be refused.
  #tellSelf(message: SupervisorMessage): void {
    this.#cell.host.deliver(this.#cell, message, undefined, true);
  }

  #entryOf(cell: Cell): Entry | undefined {
    return this.#entries.find((entry) => entry.cell === cell && entry.status === "running");
  }

  #byId(id: string): Entry | undefined {
    return this.#entries.find((entry) => entry.spec.id === id);
  }

  #spawn(spec: ChildSpec): Entry {
    const cell = this.#spawnCell(spec);
    const entry: Entry = {
      spec,
      restart: spec.restart ?? "permanent",
      cell,
      status: "running",
      backoff: INITIAL_BACKOFF,
      token: 0,
    };
    this.#entries.push(entry);
    return entry;
  }

  #spawnCell(spec: ChildSpec): Cell {
    const { id, behavior, supervisor, restart: _restart, ...spawnOptions } = spec;
    return spawnInternal(this.#cell.system, behavior, spawnOptions, this.#cell, {
      label: id,
      supervisor: supervisor === true,
    });
  }

  #startChild(spec: ChildSpec): StartChildResult {
    if (this.#byId(spec.id) !== undefined) {
      return { ok: false, error: new ActorOptionsError(`duplicate child id "${spec.id}"`) };
    }
    try {
      return { ok: true, ref: this.#spawn(spec).cell.self };
    } catch (error) {
      return { ok: false, error };
    }
  }

  async #terminateChild(id: string): Promise<boolean> {
    const entry = this.#byId(id);
    if (entry === undefined) return false;
    this.#cancel(entry);
    this.#entries = this.#entries.filter((each) => each !== entry);
    await entry.cell.terminate("shutdown");
    return true;
  }

  async #onExit(
    entry: Entry,
    exit: ChildExit,
    error: unknown,
    message: unknown,
    hasMessage: boolean,
  ): Promise<void> {
    if (!shouldRestart(entry.restart, exit)) {
      this.#entries = this.#entries.filter((each) => each !== entry);
      await entry.cell.terminate("crash");
      return;
    }
    const clock = this.#cell.clock;
    const verdict = registerRestart(this.#history, clock.now(), this.#options);
    this.#history = verdict.history;
    if (verdict.escalate) return this.#escalate(entry, error, message);

    const live = this.#entries.map((each) => ({ id: each.spec.id, restart: each.restart }));
    const plan = planRestart(this.#options.strategy, live, entry.spec.id);
    for (const id of plan.stop) {
      const child = this.#byId(id);
      if (child === undefined) continue;
      this.#cancel(child);
      child.status = "restarting";
      if (plan.remove.includes(id)) {
        this.#entries = this.#entries.filter((each) => each !== child);
        await child.cell.terminate("shutdown");
      } else {
        await child.cell.prepareRestart();
      }
    }
    const decision = nextBackoff(
      entry.backoff,
      clock.now(),
      this.#options,
      this.#cell.system.random,
    );
    entry.backoff = decision.state;
    const token = this.#nextToken++;
    const batch: Batch = {
      ids: plan.restart,
      failedId: entry.spec.id,
      error,
      message,
      hasMessage,
      attempt: decision.state.attempt,
      delayMs: decision.delayMs,
      cancel: undefined,
    };
    this.#batches.set(token, batch);
    for (const id of plan.restart) {
      const child = this.#byId(id);
      if (child !== undefined) child.token = token;
    }
    if (decision.delayMs === 0) {
      this.#restartBatch(token);
      return;
    }
    const events = this.#cell.host.events;
    if (events.active) {
      events.emit({
        type: "backoff",
        actor: entry.cell.path,
        supervisor: this.#cell.path,
        child: entry.spec.id,
        delayMs: decision.delayMs,
        attempt: decision.state.attempt,
      });
    }
    batch.cancel = clock.schedule(
      () => this.#tellSelf({ kind: "restart-due", token }),
      decision.delayMs,
    );
  }

  #restartBatch(token: number): void {
    const batch = this.#batches.get(token);
    if (batch === undefined) return;
    this.#batches.delete(token);
    const events = this.#cell.host.events;
    for (const id of batch.ids) {
      const entry = this.#byId(id);
      if (entry === undefined || entry.token !== token || entry.status !== "restarting") continue;
      entry.token = 0;
      entry.status = "running";
      if (entry.cell.isStopped) entry.cell = this.#spawnCell(entry.spec);
      else entry.cell.restart(batch.error);
      if (!events.active) continue;
      const failed = id === batch.failedId;
      events.emit({
        type: "restarted",
        actor: entry.cell.path,
        supervisor: this.#cell.path,
        child: id,
        error: batch.error,
        message: failed ? batch.message : undefined,
        hasMessage: failed && batch.hasMessage,
        sibling: !failed,
        attempt: batch.attempt,
        delayMs: batch.delayMs,
      });
    }
  }

  #cancel(entry: Entry): void {
    if (entry.token === 0) return;
    const batch = this.#batches.get(entry.token);
    entry.token = 0;
    if (batch === undefined) return;
    batch.ids = batch.ids.filter((id) => id !== entry.spec.id);
    if (batch.ids.length === 0) {
      batch.cancel?.();
      this.#batches.delete(this.#tokenOf(batch));
    }
  }

  #tokenOf(batch: Batch): number {
    for (const [token, each] of this.#batches) if (each === batch) return token;
    return 0;
  }

  async #escalate(entry: Entry, error: unknown, message: unknown): Promise<never> {
    this.postStop();
    const entries = this.#entries;
    this.#entries = [];
    for (const each of entries.reverse()) {
      await each.cell.terminate(each === entry ? "crash" : "shutdown");
    }
    const events = this.#cell.host.events;
    if (events.active) {
      events.emit({
        type: "escalated",
        actor: this.#cell.path,
        supervisor: this.#cell.parent.path,
        child: entry.spec.id,
        error,
        message,
      });
    }
    const { maxRestarts, periodMs } = this.#options;
    const reason = error instanceof Error ? error.message : String(error);
    throw new SupervisorEscalationError(
      `supervisor ${this.#cell.path} gave up: more than ${maxRestarts} restarts in ${periodMs} ms ` +
        `(last: child "${entry.spec.id}": ${reason})`,
      { cause: error },
    );
  }
}
