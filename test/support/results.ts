import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { type ChunkRecord, decodeRecord } from "../../src/workers/chunk-message.ts";

/**
 * Every chunk record ever written to the results bucket (each generation of each chunk, in the
 * order written; purged jobs' records included as long as the stream holds them).
 */
export async function chunkRecords(nc: NatsConnection, prefix = "troupe"): Promise<ChunkRecord[]> {
  const jsm = await jetstreamManager(nc);
  const stream = `KV_${prefix}_results`;
  const { state } = await jsm.streams.info(stream);
  const records: ChunkRecord[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const msg = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (msg && msg.data.length > 0) records.push(decodeRecord(msg.data));
  }
  return records;
}

/** How many task outcomes were recorded, over every record written (a task twice counts twice). */
export async function outcomesRecorded(nc: NatsConnection): Promise<number> {
  const records = await chunkRecords(nc);
  return records.reduce((sum, record) => sum + Object.keys(record.outcomes).length, 0);
}
