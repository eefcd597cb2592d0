import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";

export type { KV, KvEntry } from "@nats-io/kv";

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
