import type { ConsumerMessages } from "@nats-io/jetstream";
import type { NatsConnection } from "./connection.ts";
import { onConnectionChange } from "./disconnects.ts";
import type { HistoryLog } from "./ports.ts";
import type { Topology } from "./streams.ts";
import type { Names } from "./subjects.ts";

/** A failed follow starts over after this long. */
const RETRY_MS = 1_000;

/**
 * The history stream as the history log: appends de-duplicated by job id, read back through an
 * ordered consumer (no state kept in the server between reads; it re-creates itself after a
 * reconnect, and a start-over re-reads everything).
 */
export function natsHistory(nc: NatsConnection, names: Names, topology: Topology): HistoryLog {
  const { js, jsm, publisher } = topology;
  const stream = names.historyStream;
  return {
    async append(jobId, summary) {
      await publisher.publish(names.internal.history(jobId), summary, { msgId: jobId });
    },
    follow(onEntry, onReady) {
      let stopped = false;
      let messages: ConsumerMessages | undefined;
      const run = async () => {
        messages?.stop();
        const kept = (await jsm.streams.info(stream)).state.messages;
        const consumer = await js.consumers.get(stream);
        if (kept === 0) onReady();
        messages = await consumer.consume();
        if (stopped) messages.stop();
        for await (const message of messages) {
          onEntry(message.data);
          if (message.info.pending === 0) onReady();
        }
      };
      const start = () => {
        run().catch(() => {
          if (!stopped) setTimeout(start, RETRY_MS).unref();
        });
      };
      start();
      const unlisten = onConnectionChange(nc, ["reconnect"], onReady);
      return () => {
        stopped = true;
        unlisten();
        messages?.stop();
      };
    },
  };
}
