import type { MsgHdrs, NatsConnection } from "@nats-io/transport-node";

interface Outgoing {
  subject: string;
  data: Uint8Array | undefined;
  reply: string | undefined;
  headers: MsgHdrs | undefined;
  onError: ((error: Error) => void) | undefined;
}

/**
 * Core publishes made during one turn of the event loop, sent together at its end, in order.
 * nats.js writes to its socket once per microtask checkpoint, so the publishes of a busy turn —
 * acks, events, JetStream writes, each in its own promise callback — would cost a system call
 * each; batched they share one. Fire and forget: a publish the closed connection refuses is
 * dropped (or reported to `onError`).
 */
export class Outbound {
  readonly #nc: NatsConnection;
  #queue: (Outgoing | (() => void))[] = [];

  constructor(nc: NatsConnection) {
    this.#nc = nc;
  }

  publish(
    subject: string,
    data?: Uint8Array,
    options: { reply?: string; headers?: MsgHdrs; onError?: (error: Error) => void } = {},
  ): void {
    this.#enqueue({
      subject,
      data,
      reply: options.reply,
      headers: options.headers,
      onError: options.onError,
    });
  }

  /**
   * Runs `send` — a publish that another client API makes, such as nats.js' `JsMsg.working()` —
   * with this turn's batch, in order. One the closed connection refuses is dropped.
   */
  defer(send: () => void): void {
    this.#enqueue(send);
  }

  #enqueue(item: Outgoing | (() => void)): void {
    if (this.#queue.length === 0) setImmediate(() => this.#flush());
    this.#queue.push(item);
  }

  #flush(): void {
    const queue = this.#queue;
    this.#queue = [];
    for (const item of queue) {
      if (typeof item === "function") {
        try {
          item();
        } catch {
          // The connection is closed: dropped, as a refused publish without `onError` is.
        }
        continue;
      }
      const { subject, data, reply, headers, onError } = item;
      try {
        this.#nc.publish(subject, data, { reply, headers });
      } catch (error) {
        onError?.(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }
}

const outbounds = new WeakMap<NatsConnection, Outbound>();

/** The connection's one batch of outgoing publishes (one, so that their order is kept). */
export function outboundOf(nc: NatsConnection): Outbound {
  let outbound = outbounds.get(nc);
  if (!outbound) {
    outbound = new Outbound(nc);
    outbounds.set(nc, outbound);
  }
  return outbound;
}
