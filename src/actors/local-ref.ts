import type { Cell } from "./actor-cell.ts";
import type { AskOptions, LocalActorRef } from "./behavior.ts";

/** A reference to an actor of this process; it survives the actor's restarts. */
export class LocalRef implements LocalActorRef {
  readonly #cell: Cell;

  constructor(cell: Cell) {
    this.#cell = cell;
  }

  /** The cell behind a ref made by this module (internal: supervisors and the system use it). */
  static cellOf(ref: unknown): Cell | undefined {
    return ref instanceof LocalRef ? ref.#cell : undefined;
  }

  get name(): string | undefined {
    return this.#cell.settings.name;
  }

  get path(): string {
    return this.#cell.path;
  }

  get mailboxDepth(): number {
    return this.#cell.mailboxDepth;
  }

  get isAlive(): boolean {
    return this.#cell.isAlive;
  }

  tell(message: unknown): void {
    this.#cell.host.deliver(this.#cell, message, undefined);
  }

  ask(message: unknown, options?: AskOptions): Promise<unknown> {
    return this.#cell.ask(message, options);
  }

  closed(): Promise<Error | undefined> {
    return this.#cell.closed();
  }

  toString(): string {
    return `ActorRef(${this.#cell.path})`;
  }
}
