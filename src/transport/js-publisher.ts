import { JetStreamApiError } from "@nats-io/jetstream";
import { createInbox, headers, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { onConnectionChange } from "./disconnects.ts";
import { NatsUnavailableError } from "./nats-errors.ts";
import { type Outbound, outboundOf } from "./outbound.ts";
import { RUNTIME_INBOX_PREFIX } from "./subjects.ts";

/** How long a publish waits for its acknowledgement (nats.js' JetStream default). */
const DEFAULT_TIMEOUT_MS = 5_000;
const decoder = new TextDecoder();

/** JetStream's acknowledgement of a stored message. */
export interface PubAck {
  stream: string;
  seq: number;
  /** The message id was seen within the stream's duplicate window: nothing new was stored. */
  duplicate: boolean;
}

export interface PublishOptions {
  /** `Nats-Msg-Id`: a second publish with the same id within the duplicate window is a no-op. */
  msgId?: string;
  /**
   * `Nats-Expected-Last-Subject-Sequence`: stored only if the subject's last message has this
   * sequence (0: the subject has none — a KV `create`). Otherwise rejects with a
   * `JetStreamApiError` (wrong last sequence).
   */
  expectLastSubjectSequence?: number;
  /** `KV-Operation: DEL`: the message marks its key deleted (a KV bucket's delete). */
  kvDelete?: boolean;
}

interface Pending {
  resolve(ack: PubAck): void;
  reject(error: Error): void;
  deadline: number;
}

/**
 * JetStream publishes with their acknowledgements, lean: one wildcard reply subscription for all of
 * them, one timer sweeping the overdue ones, and no per-call timer or Error object. The hot paths
 * (a task's result, a job's lease and record, a job's tasks) publish through this: nats.js'
 * `js.publish` costs about three times as much CPU per call (a timer and two Error objects each).
 * Publishes go out through the connection's batch (outbound.ts): one socket write per turn of the
 * event loop, not one each.
 */
export class JetStreamPublisher {
  readonly #nc: NatsConnection;
  readonly #outbound: Outbound;
  readonly #timeoutMs: number;
  readonly #prefix = createInbox(RUNTIME_INBOX_PREFIX);
  readonly #pending = new Map<number, Pending>();
  #next = 0;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(nc: NatsConnection, options: { timeoutMs?: number } = {}) {
    this.#nc = nc;
    this.#outbound = outboundOf(nc);
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    nc.subscribe(`${this.#prefix}.*`, { callback: (_error, msg) => this.#onReply(msg) });
    void nc.closed().then(() => this.#failAll(new NatsUnavailableError("NATS connection closed")));
    // An acknowledgement due when the connection dropped may never come, and the client drops
    // what was published while the line was down when it reconnects: fail those publishes then,
    // not at their timeout, so their callers retry (each write here is idempotent or a CAS).
    onConnectionChange(nc, ["disconnect", "reconnect"], () =>
      this.#failAll(
        new NatsUnavailableError("the NATS connection dropped before JetStream acknowledged"),
      ),
    );
  }

  publish(subject: string, data: Uint8Array, options: PublishOptions = {}): Promise<PubAck> {
    if (this.#nc.isClosed())
      return Promise.reject(new NatsUnavailableError("NATS connection closed"));
    const id = ++this.#next;
    const h =
      options.msgId !== undefined ||
      options.expectLastSubjectSequence !== undefined ||
      options.kvDelete
        ? headers()
        : undefined;
    if (options.msgId !== undefined) h?.set("Nats-Msg-Id", options.msgId);
    if (options.kvDelete) h?.set("KV-Operation", "DEL");
    if (options.expectLastSubjectSequence !== undefined) {
      h?.set("Nats-Expected-Last-Subject-Sequence", String(options.expectLastSubjectSequence));
    }
    return new Promise<PubAck>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, deadline: Date.now() + this.#timeoutMs });
      this.#sweeper ??= setInterval(() => this.#sweep(), this.#timeoutMs / 4);
      this.#outbound.publish(subject, data, {
        reply: `${this.#prefix}.${id}`,
        headers: h,
        onError: (error) => {
          this.#pending.delete(id);
          reject(new NatsUnavailableError(error.message, { cause: error }));
        },
      });
    });
  }

  #onReply(msg: Msg): void {
    const id = Number(msg.subject.slice(this.#prefix.length + 1));
    const pending = this.#pending.get(id);
    if (!pending) return; // answered after its timeout
    this.#pending.delete(id);
    if (msg.data.length === 0) {
      // A status without a body: 503 means no stream listens on the subject.
      const code = msg.headers?.code ?? 0;
      pending.reject(
        new NatsUnavailableError(code === 503 ? "no stream for this subject" : `status ${code}`),
      );
      return;
    }
    const reply = JSON.parse(decoder.decode(msg.data)) as
      | { stream: string; seq: number; duplicate?: boolean }
      | { error: { code: number; err_code: number; description: string } };
    if ("error" in reply) pending.reject(new JetStreamApiError(reply.error));
    else pending.resolve({ stream: reply.stream, seq: reply.seq, duplicate: !!reply.duplicate });
  }

  #sweep(): void {
    const now = Date.now();
    // Insertion order is deadline order: stop at the first one still in time.
    for (const [id, pending] of this.#pending) {
      if (pending.deadline > now) break;
      this.#pending.delete(id);
      pending.reject(
        new NatsUnavailableError(`JetStream publish not acknowledged within ${this.#timeoutMs} ms`),
      );
    }
    if (this.#pending.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  #failAll(error: Error): void {
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }
}
