/**
 * The bare JetStream ceiling: a work-queue stream on file storage, a publisher keeping a window of
 * publishes in flight (each awaits its PubAck, as Troupe's job actor does), and a durable pull
 * consumer that acks each message (fire and forget, as Troupe's workers do). Nothing else: no KV,
 * no events, no actors. Troupe's end-to-end rate is compared against this.
 */
import {
  AckPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";

/** Publishes in flight at once (Troupe's job actor publishes a job's tasks in chunks of 256). */
const PUBLISH_WINDOW = 256;
/** About the size of a Troupe task message (msgpack of the task and its training input). */
const PAYLOAD = new Uint8Array(220).fill(7);

let runs = 0;

/** Messages per second through publish → consume → ack, for `count` messages. */
export async function jetstreamCeiling(url: string, count: number): Promise<number> {
  const run = ++runs;
  const stream = `BENCH_CEILING_${process.pid}_${run}`;
  const subject = `bench.ceiling.${process.pid}.${run}`;
  const producer = await connect({ servers: url, noAsyncTraces: true });
  const consumerNc = await connect({ servers: url, noAsyncTraces: true });
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
      max_ack_pending: 100_000,
    });
    const js = jetstream(producer);
    const consumer = await jetstream(consumerNc).consumers.get(stream, "work");
    const started = performance.now();
    const consumed = (async () => {
      let acked = 0;
      const messages = await consumer.consume({ max_messages: 512 });
      for await (const m of messages) {
        m.ack();
        if (++acked >= count) break;
      }
      await consumerNc.flush();
    })();
    let next = 0;
    const publisher = async () => {
      while (next < count) {
        next += 1;
        await js.publish(subject, PAYLOAD);
      }
    };
    await Promise.all(Array.from({ length: PUBLISH_WINDOW }, publisher));
    await consumed;
    const rate = count / ((performance.now() - started) / 1000);
    await jsm.streams.delete(stream);
    return rate;
  } finally {
    await consumerNc.close();
    await producer.close();
  }
}
