import type { Reply } from "./reply.ts";

/** What a full mailbox does with one more message. */
export type OverflowPolicy = "reject" | "drop-oldest";

/** Mailbox bound. @default 10_000 — deep enough for bursts, small enough to surface a stuck actor. */
export const DEFAULT_MAILBOX_SIZE = 10_000;

const INITIAL_CAPACITY = 8;

/**
 * A bounded FIFO of `(message, reply)` pairs in one ring buffer: slot `2i` holds the message and
 * `2i + 1` the reply handle (`undefined` for `tell`), so a `tell` allocates nothing. The buffer
 * starts small and doubles up to the bound, which keeps idle and lightly used actors cheap.
 */
export class Mailbox {
  readonly limit: number;
  #slots: unknown[];
  #mask: number;
  #head = 0;
  #size = 0;

  constructor(limit: number) {
    this.limit = limit;
    this.#slots = new Array(INITIAL_CAPACITY * 2);
    this.#mask = INITIAL_CAPACITY - 1;
  }

  /** Messages waiting (not counting the one being handled). */
  get depth(): number {
    return this.#size;
  }

  get isFull(): boolean {
    return this.#size >= this.limit;
  }

  /** Appends; the caller checks `isFull` first (the overflow policy is the caller's decision). */
  push(message: unknown, reply: Reply | undefined): void {
    if (this.#size > this.#mask) this.#grow();
    const at = ((this.#head + this.#size) & this.#mask) << 1;
    this.#slots[at] = message;
    this.#slots[at + 1] = reply;
    this.#size++;
  }

  /** The oldest message; `undefined` when empty (check `depth`, messages may be `undefined`). */
  peekMessage(): unknown {
    return this.#slots[this.#head << 1];
  }

  /** The reply handle of the oldest message. */
  peekReply(): Reply | undefined {
    return this.#slots[(this.#head << 1) + 1] as Reply | undefined;
  }

  /** Removes the oldest message (read it with the `peek` methods first). */
  drop(): void {
    const at = this.#head << 1;
    this.#slots[at] = undefined;
    this.#slots[at + 1] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#size--;
  }

  /** Empties the mailbox, handing each pair to `each` in order. */
  drain(each: (message: unknown, reply: Reply | undefined) => void): void {
    while (this.#size > 0) {
      const message = this.peekMessage();
      const reply = this.peekReply();
      this.drop();
      each(message, reply);
    }
  }

  #grow(): void {
    const capacity = this.#mask + 1;
    const slots = new Array<unknown>(capacity * 4);
    for (let i = 0; i < this.#size; i++) {
      const from = ((this.#head + i) & this.#mask) << 1;
      slots[i << 1] = this.#slots[from];
      slots[(i << 1) + 1] = this.#slots[from + 1];
    }
    this.#slots = slots;
    this.#mask = capacity * 2 - 1;
    this.#head = 0;
  }
}
