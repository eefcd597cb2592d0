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
import { Kvm } from "@nats-io/kv";
import type { Piscina } from "piscina";
import { openWorkQueue } from "./jetstream.ts";

/** About the size of a recorded Troupe result. */
const RESULT_BYTES = 200;

let runs = 0;

/**
 * Tasks per second through the floor for `count` tasks on `pool` (bench/lib/bare-pool.ts);
 * `taskAt(i)` is what the pool runs for task i, and `slots` tasks run at once (as Troupe's
 * MAX_CONCURRENT_TASKS).
 */
export async function durableTaskFloor(
  url: string,
  pool: Piscina,
  count: number,
  slots: number,
  taskAt: (index: number) => unknown,
): Promise<number> {
  const bucket = `bench_floor_${process.pid}_${++runs}`;
  const queue = await openWorkQueue(url, "floor", slots);
  try {
    const results = await new Kvm(queue.consumerNc).create(bucket, {
      history: 1,
      storage: "file",
    });
    let seen = 0;
    let failure: unknown;
    let allSeen!: () => void;
    const done = new Promise<void>((resolve) => {
      allSeen = resolve;
    });
    const fail = (error: unknown) => {
      failure ??= error;
      allSeen();
    };
    queue.producer.subscribe(`$KV.${bucket}.>`, {
      callback: () => {
        if (++seen === count) allSeen();
      },
    });
    await queue.producer.flush();
    const result = new Uint8Array(RESULT_BYTES).fill(3);
    const started = performance.now();
    const consumed = (async () => {
      let taken = 0;
      const messages = await queue.consumer.consume({ max_messages: slots });
      for await (const m of messages) {
        const index = taken++;
        void (async () => {
          await pool.run(taskAt(index));
          await results.create(`t.${index}`, result);
          m.ack();
        })().catch(fail);
        if (taken >= count) break;
      }
    })().catch(fail);
    await queue.publish(count);
    // Every result seen, or the first failure (closing the connections below ends the consumer).
    await done;
    if (failure !== undefined) throw failure;
    await consumed;
    const rate = count / ((performance.now() - started) / 1000);
    await results.destroy();
    return rate;
  } finally {
    await queue.close();
  }
}
