import {
  createInbox,
  type Msg,
  type NatsConnection,
  type Subscription,
} from "@nats-io/transport-node";
import { onConnectionChange } from "./disconnects.ts";
import { type Outbound, outboundOf } from "./outbound.ts";
import { RUNTIME_INBOX_PREFIX } from "./subjects.ts";

const encoder = new TextEncoder();
/** A no_wait pull answers at once; this only bounds a lost reply. */
const PULL_REPLY_TIMEOUT_MS = 2_000;

/**
 * One delivery of a work-queue message: its body and the acknowledgements JetStream takes on it.
 * All are fire and forget — exactly-once recording never depends on an ack arriving.
 */
export interface Delivery {
  readonly subject: string;
  readonly data: Uint8Array;
  /** The consumer that delivered it. */
  readonly consumer: string;
  /** 1 for the first delivery, then 2, 3, … (redelivery after a nak or an expired lease). */
  readonly deliveryCount: number;
  /** The message's sequence in its stream. */
  readonly streamSequence: number;
  ack(): void;
  /** Hand it back; redelivered after `delayMs` (at once when 0). */
  nak(delayMs?: number): void;
  /** Still working: restarts the lease (AckWait). */
  working(): void;
  /** Never redeliver. */
  term(reason?: string): void;
}

interface Pull {
  readonly consumer: string;
  readonly batch: number;
  readonly deliveries: Delivery[];
  readonly timer: NodeJS.Timeout;
  resolve(deliveries: Delivery[]): void;
}

/**
 * Pulls from durable pull consumers without waiting (`no_wait`): each pull resolves with what is
 * there now, possibly nothing. This is what lets a slot try the priority lanes in order — the
 * high-level consumer API always waits at least a second on an empty lane. All pulls share one
 * wildcard reply subscription: a subscription of its own per pull would cost the server a SUB and
 * an UNSUB each (and invalidate its subject cache) for every pull. A delivered message carries its
 * own subject, not the pull's reply subject, so it goes to the oldest open pull of its consumer;
 * the status that ends a pull (404, 408, 409) names the pull.
 */
export class LanePuller {
  readonly #nc: NatsConnection;
  readonly #outbound: Outbound;
  readonly #prefix = createInbox(RUNTIME_INBOX_PREFIX);
  readonly #pulls = new Map<string, Pull>();
  readonly #unlisten: () => void;
  #sub: Subscription;
  #next = 0;

  constructor(nc: NatsConnection) {
    this.#nc = nc;
    this.#outbound = outboundOf(nc);
    this.#sub = this.#subscribe();
    // A pull the restarting server dropped, or its JetStream not yet serving, is never answered:
    // stop waiting when the line drops or comes back (the dispatcher pulls again).
    this.#unlisten = onConnectionChange(nc, ["disconnect", "reconnect"], () => this.#finishAll());
  }

  /**
   * Up to `batch` messages of `stream`'s consumer `consumer` that are there now. Never rejects: a
   * pull the closed connection refuses resolves with nothing. It goes out in the connection's
   * batch (outbound.ts), after the acks and naks issued before it.
   */
  pull(stream: string, consumer: string, batch: number): Promise<Delivery[]> {
    const token = String(++this.#next);
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#finish(token), PULL_REPLY_TIMEOUT_MS);
      this.#pulls.set(token, { consumer, batch, deliveries: [], timer, resolve });
      this.#outbound.publish(
        `$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`,
        encoder.encode(JSON.stringify({ batch, no_wait: true })),
        { reply: `${this.#prefix}.${token}`, onError: () => this.#finish(token) },
      );
    });
  }

  /** Ends every pull in progress (with what it has) and the reply subscription. */
  close(): void {
    this.#unlisten();
    this.#sub.unsubscribe();
    this.#finishAll();
  }

  #subscribe(): Subscription {
    return this.#nc.subscribe(`${this.#prefix}.*`, {
      callback: (error, msg) => {
        if (error) {
          // The server closed the subscription: end what waits and listen again.
          this.#finishAll();
          if (!this.#nc.isClosed()) this.#sub = this.#subscribe();
          return;
        }
        this.#onMessage(msg);
      },
    });
  }

  #onMessage(msg: Msg): void {
    if (!msg.reply) {
      this.#finish(msg.subject.slice(this.#prefix.length + 1)); // a status ends its pull
      return;
    }
    const delivery = toDelivery(this.#nc, msg);
    for (const [token, pull] of this.#pulls) {
      if (pull.consumer !== delivery.consumer) continue;
      pull.deliveries.push(delivery);
      if (pull.deliveries.length >= pull.batch) this.#finish(token);
      return;
    }
    delivery.nak(); // its pull gave up waiting: hand it back now rather than at lease expiry
  }

  #finish(token: string): void {
    const pull = this.#pulls.get(token);
    if (!pull) return;
    this.#pulls.delete(token);
    clearTimeout(pull.timer);
    pull.resolve(pull.deliveries);
  }

  #finishAll(): void {
    for (const token of [...this.#pulls.keys()]) this.#finish(token);
  }
}

function toDelivery(nc: NatsConnection, msg: Msg): Delivery {
  const reply = msg.reply as string;
  // $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending> (v1), or v2 with
  // <domain>.<account hash> after $JS.ACK and a random token at the end.
  const tokens = reply.split(".");
  const offset = tokens.length >= 12 ? 4 : 2;
  const consumer = tokens[offset + 1] as string;
  const deliveryCount = Number(tokens[offset + 2]);
  const streamSequence = Number(tokens[offset + 3]);
  const outbound = outboundOf(nc);
  const send = (body: string) => {
    if (!nc.isClosed()) outbound.publish(reply, encoder.encode(body));
  };
  return {
    subject: msg.subject,
    data: msg.data,
    consumer,
    deliveryCount,
    streamSequence,
    ack: () => send("+ACK"),
    nak: (delayMs = 0) =>
      send(delayMs > 0 ? `-NAK ${JSON.stringify({ delay: delayMs * 1e6 })}` : "-NAK"),
    working: () => send("+WPI"),
    term: (reason) => send(reason ? `+TERM ${reason}` : "+TERM"),
  };
}
