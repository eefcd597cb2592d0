/**
 * The bare JetStream pieces the benches compare Troupe with. `jetstreamCeiling`: a work-queue
 * stream on file storage, a publisher keeping a window of publishes in flight (each awaits its
 * PubAck, as Troupe's job actor does), and a durable pull consumer that acks each message (fire and
 * forget, as Troupe's workers do). Nothing else: no KV, no events, no actors. Troupe's end-to-end
 * rate is compared against this.
 */
import {
  AckPolicy,
  type Consumer,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";

/** Publishes in flight at once (Troupe's job actor publishes a job's tasks in chunks of 256). */
const PUBLISH_WINDOW = 256;
/** About the size of a Troupe task message (msgpack of the task and its training input). */
const PAYLOAD = new Uint8Array(220).fill(7);

let queues = 0;

/** A fresh work-queue stream with one durable pull consumer; producer and consumer apart. */
export interface WorkQueue {
  readonly producer: NatsConnection;
  readonly consumerNc: NatsConnection;
  readonly consumer: Consumer;
  /** Publishes `count` task-sized messages, PUBLISH_WINDOW awaiting their PubAck at a time. */
  publish(count: number): Promise<void>;
  /** Deletes the stream and closes both connections. */
  close(): Promise<void>;
}

/** Opens a work queue named after `kind`, at most `maxAckPending` messages unacked. */
export async function openWorkQueue(
  url: string,
  kind: string,
  maxAckPending: number,
): Promise<WorkQueue> {
  const run = ++queues;
  const stream = `BENCH_${kind.toUpperCase()}_${process.pid}_${run}`;
  const subject = `bench.${kind}.${process.pid}.${run}`;
  const producer = await connect({ servers: url, noAsyncTraces: true });
  const consumerNc = await connect({ servers: url, noAsyncTraces: true });
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
    max_ack_pending: maxAckPending,
  });
  const consumer = await jetstream(consumerNc).consumers.get(stream, "work");
  const js = jetstream(producer);
  return {
    producer,
    consumerNc,
    consumer,
    async publish(count) {
      let next = 0;
      const publisher = async () => {
        while (next < count) {
          next += 1;
          await js.publish(subject, PAYLOAD);
        }
      };
      await Promise.all(Array.from({ length: PUBLISH_WINDOW }, publisher));
    },
    async close() {
      try {
        if (!producer.isClosed()) await jsm.streams.delete(stream);
      } finally {
        await consumerNc.close();
        await producer.close();
      }
    },
  };
}

/** Messages per second through publish → consume → ack, for `count` messages. */
export async function jetstreamCeiling(url: string, count: number): Promise<number> {
  const queue = await openWorkQueue(url, "ceiling", 100_000);
  try {
    const started = performance.now();
    const consumed = (async () => {
      let acked = 0;
      const messages = await queue.consumer.consume({ max_messages: 512 });
      for await (const m of messages) {
        m.ack();
        if (++acked >= count) break;
      }
      await queue.consumerNc.flush();
    })();
    await queue.publish(count);
    await consumed;
    return count / ((performance.now() - started) / 1000);
  } finally {
    await queue.close();
  }
}
