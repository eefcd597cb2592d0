import type { ConsumerMessages } from "@nats-io/jetstream";
import type { NatsConnection } from "./connection.ts";
import { outboundOf } from "./outbound.ts";
import type { Topology } from "./streams.ts";
import type { Names } from "./subjects.ts";

const decoder = new TextDecoder();

/**
 * A lease on one job: the job's un-acked message in the jobs stream. Held while renewed
 * (`working`) within its AckWait; released for good by `ack`, handed back by `nak`.
 */
export interface Lease {
  /** 1 for the first holder; more when the lease was handed back or expired before. */
  readonly deliveryCount: number;
  working(): void;
  ack(): void;
  nak(delayMs?: number): void;
}

/** Leases (on jobs, or on workflows) as JetStream hands them out to this process, until `close`. */
export interface LeaseFeed extends AsyncIterable<{ id: string; lease: Lease }> {
  /** Takes no more leases; those already delivered are still yielded. */
  close(): Promise<void>;
}

/**
 * The shared `job-owners` consumer as a feed of job leases. Renewals go out in the connection's
 * batch: the ticks of every live job fall together (job-actor.ts), and nats.js' own `working()`
 * would write each to the socket on its own.
 */
export function consumeJobLeases(
  nc: NatsConnection,
  topology: Topology,
  names: Names,
): Promise<LeaseFeed> {
  return consumeLeases(nc, topology, names.jobsStream, names.jobOwnersConsumer);
}

/** The shared `workflow-owners` consumer as a feed of workflow leases (as for jobs). */
export function consumeWorkflowLeases(
  nc: NatsConnection,
  topology: Topology,
  names: Names,
): Promise<LeaseFeed> {
  return consumeLeases(nc, topology, names.workflowsStream, names.workflowOwnersConsumer);
}

async function consumeLeases(
  nc: NatsConnection,
  topology: Topology,
  stream: string,
  durable: string,
): Promise<LeaseFeed> {
  const consumer = await topology.js.consumers.get(stream, durable);
  const messages: ConsumerMessages = await consumer.consume({ max_messages: 64 });
  const outbound = outboundOf(nc);
  return {
    async *[Symbol.asyncIterator]() {
      for await (const msg of messages) {
        const lease: Lease = {
          deliveryCount: msg.info.deliveryCount,
          working: () => outbound.defer(() => msg.working()),
          ack: () => msg.ack(),
          nak: (delayMs) => msg.nak(delayMs),
        };
        yield { id: decoder.decode(msg.data), lease };
      }
    },
    async close() {
      await messages.close();
    },
  };
}
