import { createInbox, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { onConnectionChange } from "./disconnects.ts";
import { outboundOf } from "./outbound.ts";
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

/**
 * Pulls up to `batch` messages from a durable pull consumer without waiting (`no_wait`): resolves
 * with what is there now, possibly nothing. This is what lets a slot try the priority lanes in order
 * — the high-level consumer API always waits at least a second on an empty lane.
 */
export function pullNow(
  nc: NatsConnection,
  stream: string,
  consumer: string,
  batch: number,
): Promise<Delivery[]> {
  const inbox = createInbox(RUNTIME_INBOX_PREFIX);
  const deliveries: Delivery[] = [];
  return new Promise((resolve) => {
    const sub = nc.subscribe(inbox, {
      max: batch + 1,
      callback: (error, msg) => {
        if (error || !msg.reply) {
          finish(); // a status (404 no messages, 408, 409) ends the batch
          return;
        }
        deliveries.push(toDelivery(nc, msg));
        if (deliveries.length >= batch) finish();
      },
    });
    const timer = setTimeout(finish, PULL_REPLY_TIMEOUT_MS);
    // A pull the restarting server dropped, or its JetStream not yet serving, is never answered:
    // stop waiting when the line drops or comes back (the dispatcher pulls again).
    const unlisten = onConnectionChange(nc, ["disconnect", "reconnect"], finish);
    function finish() {
      clearTimeout(timer);
      unlisten();
      sub.unsubscribe();
      resolve(deliveries);
    }
    nc.publish(
      `$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`,
      encoder.encode(JSON.stringify({ batch, no_wait: true })),
      { reply: inbox },
    );
  });
}

function toDelivery(nc: NatsConnection, msg: Msg): Delivery {
  const reply = msg.reply as string;
  // $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending> (v1), or v2 with
  // <domain>.<account hash> after $JS.ACK and a random token at the end.
  const tokens = reply.split(".");
  const offset = tokens.length >= 12 ? 4 : 2;
  const deliveryCount = Number(tokens[offset + 2]);
  const streamSequence = Number(tokens[offset + 3]);
  const outbound = outboundOf(nc);
  const send = (body: string) => {
    if (!nc.isClosed()) outbound.publish(reply, encoder.encode(body));
  };
  return {
    subject: msg.subject,
    data: msg.data,
    deliveryCount,
    streamSequence,
    ack: () => send("+ACK"),
    nak: (delayMs = 0) =>
      send(delayMs > 0 ? `-NAK ${JSON.stringify({ delay: delayMs * 1e6 })}` : "-NAK"),
    working: () => send("+WPI"),
    term: (reason) => send(reason ? `+TERM ${reason}` : "+TERM"),
  };
}
