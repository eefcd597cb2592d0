import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager } from "@nats-io/jetstream";
import type { JetStreamPublisher, PubAck } from "./js-publisher.ts";

export type { KV, KvEntry } from "@nats-io/kv";

/** The stream that holds KV bucket `bucket`. */
export function kvStream(bucket: string): string {
  return `KV_${bucket}`;
}

/** The subject of `key` in bucket `bucket`; `key` may be a pattern (`job_1.*`, `>`). */
export function kvSubject(bucket: string, key: string): string {
  return `$KV.${bucket}.${key}`;
}

/** The header a KV delete or purge carries (a put has none). */
export const KV_OPERATION = "KV-Operation";

/**
 * The keys of bucket `bucket` that match `pattern`, from one stream-info request — deleted keys
 * included (their tombstone is a message): read each with `get`, which tells. `kv.keys()` instead
 * creates a JetStream consumer on every call, kept on disk for five minutes after it: called on
 * every heartbeat or reconcile, those pile up in the server, and a restarting nats-server must
 * recover each one.
 */
export async function kvKeys(
  jsm: JetStreamManager,
  bucket: string,
  pattern = ">",
): Promise<string[]> {
  const prefix = kvSubject(bucket, "");
  const info = await jsm.streams.info(kvStream(bucket), {
    subjects_filter: kvSubject(bucket, pattern),
  });
  return Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(prefix.length));
}

/**
 * Writes to one bucket through the lean JetStream publisher: the hot-path writes (job records,
 * task results, checkpoints). Reads and compare-and-set updates stay with the nats.js bucket.
 */
export class KvWriter {
  readonly #publisher: JetStreamPublisher;
  readonly #prefix: string;

  constructor(publisher: JetStreamPublisher, bucket: string) {
    this.#publisher = publisher;
    this.#prefix = kvSubject(bucket, "");
  }

  /** Stores `value` unless `key` already has one (then rejects: see `isWrongRevision`). */
  create(key: string, value: Uint8Array): Promise<PubAck> {
    return this.#publisher.publish(this.#prefix + key, value, { expectLastSubjectSequence: 0 });
  }

  put(key: string, value: Uint8Array): Promise<PubAck> {
    return this.#publisher.publish(this.#prefix + key, value);
  }

  /** Marks `key` deleted, as nats.js' `delete` does (watchers see a DEL). */
  delete(key: string): Promise<PubAck> {
    return this.#publisher.publish(this.#prefix + key, new Uint8Array(), { kvDelete: true });
  }

  /** Stores `value` if `revision` is still the key's latest (else rejects: `isWrongRevision`). */
  update(key: string, value: Uint8Array, revision: number): Promise<PubAck> {
    return this.#publisher.publish(this.#prefix + key, value, {
      expectLastSubjectSequence: revision,
    });
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
