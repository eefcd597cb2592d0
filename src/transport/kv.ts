import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import type { JetStreamPublisher, PubAck } from "./js-publisher.ts";

export type { KV, KvEntry } from "@nats-io/kv";

/**
 * Writes to one bucket through the lean JetStream publisher: the hot-path writes (job records,
 * task results, checkpoints). Reads and compare-and-set updates stay with the nats.js bucket.
 */
export class KvWriter {
  readonly #publisher: JetStreamPublisher;
  readonly #prefix: string;

  constructor(publisher: JetStreamPublisher, bucket: string) {
    this.#publisher = publisher;
    this.#prefix = `$KV.${bucket}.`;
  }

  /** Stores `value` unless `key` already has one (then rejects: see `isWrongRevision`). */
  create(key: string, value: Uint8Array): Promise<PubAck> {
    return this.#publisher.publish(this.#prefix + key, value, { expectLastSubjectSequence: 0 });
  }

  put(key: string, value: Uint8Array): Promise<PubAck> {
    return this.#publisher.publish(this.#prefix + key, value);
  }
}

/** A KV `create` or `update` lost the compare-and-set: someone else wrote first. */
export function isWrongRevision(error: unknown): boolean {
  if (error instanceof JetStreamApiError) {
    return (
      error.code === JetStreamApiCodes.StreamWrongLastSequence ||
      error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown
    );
  }
  return error instanceof Error && /wrong last sequence/i.test(error.message);
}
