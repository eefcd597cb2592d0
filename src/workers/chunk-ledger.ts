import { pack, unpack } from "msgpackr";
import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import { isNatsUnavailable } from "../transport/nats-errors.ts";
import type { Bucket, ResultLog } from "../transport/ports.ts";
import {
  type ChunkDeliveries,
  type ChunkMessage,
  type ChunkRecord,
  chunkKey,
  decodeRecord,
  encodeRecord,
} from "./chunk-message.ts";

/** A record larger than this keeps no models (the job then reports its tasks' mean metrics). */
const MAX_RECORD_BYTES = 900 * 1024;
const MAX_CAS_TRIES = 10;
/** A record write that met NATS unavailable is tried this often, RECORD_RETRY_MS × n apart. */
const RECORD_TRIES = 4;
const RECORD_RETRY_MS = 250;

/**
 * What a chunk has left behind: its generations' records (written once each) and its delivery
 * counts (failed attempts and hand-backs, which JetStream's delivery count cannot tell apart).
 */
export class ChunkLedger {
  readonly #results: ResultLog;
  readonly #counts: Bucket;
  readonly #clock: Clock;
  readonly #log: Logger;

  constructor(results: ResultLog, counts: Bucket, clock: Clock, log: Logger) {
    this.#results = results;
    this.#counts = counts;
    this.#clock = clock;
    this.#log = log;
  }

  /** The chunk's records, generation 0 upwards, as far as they go. */
  async records(message: ChunkMessage): Promise<ChunkRecord[]> {
    const records: ChunkRecord[] = [];
    for (;;) {
      const bytes = await this.#results.read(message.job_id, message.chunk, records.length);
      if (!bytes) return records;
      records.push(decodeRecord(bytes));
    }
  }

  async counts(message: ChunkMessage): Promise<ChunkDeliveries> {
    const entry = await this.#counts.get(chunkKey(message.job_id, message.chunk));
    return entry ? (unpack(entry.value) as ChunkDeliveries) : { failures: 0, hand_backs: 0 };
  }

  /** Adds one to a count of the chunk's deliveries (compare-and-set). */
  async count(message: ChunkMessage, what: keyof ChunkDeliveries): Promise<void> {
    const key = chunkKey(message.job_id, message.chunk);
    for (let i = 0; i < MAX_CAS_TRIES; i++) {
      const entry = await this.#counts.get(key);
      const counts: ChunkDeliveries = entry
        ? (unpack(entry.value) as ChunkDeliveries)
        : { failures: 0, hand_backs: 0 };
      counts[what] += 1;
      const written = entry
        ? await this.#counts.update(key, pack(counts), entry.revision)
        : await this.#counts.create(key, pack(counts));
      if (written !== undefined) return;
    }
    throw new Error(`chunk ${key}: its delivery counts kept conflicting`);
  }

  /**
   * Writes the generation's record unless one stands. Returns the record that stands: this one, or the one another writer created first (a
   * redelivered chunk that ran twice), which the caller then acts on instead.
   */
  async record(
    message: ChunkMessage,
    record: ChunkRecord,
  ): Promise<{ record: ChunkRecord; bytes: Uint8Array }> {
    const { job_id, chunk } = message;
    let bytes = encodeRecord(record);
    if (bytes.byteLength > MAX_RECORD_BYTES) {
      this.#log.warn(
        { job_id, chunk, bytes: bytes.byteLength },
        "record too large: no models kept",
      );
      for (const outcome of Object.values(record.outcomes)) outcome.model = null;
      bytes = encodeRecord(record);
    }
    if (await this.#create(message, record.generation, bytes)) return { record, bytes };
    this.#log.debug({ job_id, chunk }, "generation already recorded; this run was a duplicate");
    const stored = await this.#results.read(job_id, chunk, record.generation);
    return stored ? { record: decodeRecord(stored), bytes: stored } : { record, bytes };
  }

  /** Tells the job's actor that the generation is recorded, handing it the record. */
  announce(message: ChunkMessage, generation: number, bytes: Uint8Array): void {
    this.#results.announce(message.job_id, message.chunk, generation, bytes);
  }

  /**
   * A create that met a NATS blip is tried again: it is idempotent, and trained models are not
   * thrown away, nor an attempt spent, for want of one acknowledgement. A longer outage propagates.
   */
  async #create(message: ChunkMessage, generation: number, bytes: Uint8Array): Promise<boolean> {
    for (let tries = 1; ; tries++) {
      try {
        return await this.#results.create(message.job_id, message.chunk, generation, bytes);
      } catch (error) {
        if (!isNatsUnavailable(error) || tries >= RECORD_TRIES) throw error;
        await new Promise<void>((resolve) =>
          this.#clock.schedule(resolve, RECORD_RETRY_MS * tries),
        );
      }
    }
  }
}
