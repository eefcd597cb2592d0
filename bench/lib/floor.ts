/**
 * The bare durable-task floor: what the parts every durable, thread-run task needs cost together,
 * with no runtime around them. A task message published to a JetStream work queue (file storage,
 * each publish awaiting its PubAck), consumed by a pull consumer, run in a bare piscina pool (the
 * same training code as Troupe's threads), its result written once to a KV bucket (a create, as
 * Troupe's exactly-once record), then acked; a task counts once its result is seen on the bucket's
 * subject, as bench/lib/troupe-load.ts sees Troupe's. No actors, leases, events, retries, quota or
 * job records: any runtime that keeps each task and its result in JetStream and trains on threads
 * does at least this much per task, so Troupe ÷ floor is what Troupe's own logic costs.
 */
import { fileURLToPath } from "node:url";
import {
  AckPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { connect } from "@nats-io/transport-node";
import { Piscina } from "piscina";

const PUBLISH_WINDOW = 256;
/** About the size of a Troupe task message and of a recorded result. */
const TASK_BYTES = 220;
const RESULT_BYTES = 200;
const TASK_FILE = fileURLToPath(new URL("./piscina-task.mjs", import.meta.url));

let runs = 0;

export interface FloorPool {
  run(task: unknown): Promise<unknown>;
  close(): Promise<void>;
}

/** A bare piscina pool of `threads` threads running bench/lib/piscina-task.mjs. */
export function floorPool(threads: number): FloorPool {
  const pool = new Piscina({ filename: TASK_FILE, minThreads: threads, maxThreads: threads });
  return {
    run: (task) => pool.run(task),
    close: () => pool.close({ force: true }),
  };
}

/**
 * Tasks per second through the floor for `count` tasks; `taskAt(i)` is what the pool runs for
 * task i, and `slots` tasks run at once (as Troupe's MAX_CONCURRENT_TASKS).
 */
export async function durableTaskFloor(
  url: string,
  pool: FloorPool,
  count: number,
  slots: number,
  taskAt: (index: number) => unknown,
): Promise<number> {
  const run = ++runs;
  const stream = `BENCH_FLOOR_${process.pid}_${run}`;
  const subject = `bench.floor.${process.pid}.${run}`;
  const bucket = `bench_floor_${process.pid}_${run}`;
  const producer = await connect({ servers: url, noAsyncTraces: true });
  const worker = await connect({ servers: url, noAsyncTraces: true });
  try {
    const jsm = await jetstreamManager(producer);
    await jsm.streams.add({
      name: stream,
      subjects: [subject],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
    });
    await jsm.consumers.add(stream, {
      durable_name: "work",
      ack_policy: AckPolicy.Explicit,
      max_ack_pending: slots,
    });
    const results = await new Kvm(worker).create(bucket, { history: 1, storage: "file" });
    let seen = 0;
    let failure: unknown;
    let allSeen!: () => void;
    const done = new Promise<void>((resolve) => {
      allSeen = resolve;
    });
    producer.subscribe(`$KV.${bucket}.>`, {
      callback: () => {
        if (++seen === count) allSeen();
      },
    });
    await producer.flush();
    const consumer = await jetstream(worker).consumers.get(stream, "work");
    const result = new Uint8Array(RESULT_BYTES).fill(3);
    const started = performance.now();
    const consumed = (async () => {
      let taken = 0;
      const messages = await consumer.consume({ max_messages: slots });
      for await (const m of messages) {
        const index = taken++;
        void (async () => {
          await pool.run(taskAt(index));
          await results.create(`t.${index}`, result);
          m.ack();
        })().catch((error: unknown) => {
          failure ??= error;
          allSeen();
        });
        if (taken >= count) break;
      }
    })().catch((error: unknown) => {
      failure ??= error;
      allSeen();
    });
    const js = jetstream(producer);
    const payload = new Uint8Array(TASK_BYTES).fill(7);
    let next = 0;
    const publish = async () => {
      while (next < count) {
        next += 1;
        await js.publish(subject, payload);
      }
    };
    await Promise.all(Array.from({ length: PUBLISH_WINDOW }, publish));
    // Every result seen, or the first failure (closing the connections below ends the consumer).
    await done;
    if (failure !== undefined) throw failure;
    await consumed;
    const rate = count / ((performance.now() - started) / 1000);
    await jsm.streams.delete(stream);
    await results.destroy();
    return rate;
  } finally {
    await worker.close();
    await producer.close();
  }
}
