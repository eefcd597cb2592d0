import type { Socket } from "node:net";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterEach, describe, expect, it } from "vitest";
import { batchSocketWrites } from "../../src/transport/write-batching.ts";
import { startNats } from "../support/nats.ts";

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

/** Counts the system-call-level writes of the connection's current socket. */
function countWrites(nc: NatsConnection): { readonly writes: number } {
  const socket = (nc as unknown as { protocol: { transport: { socket: Socket } } }).protocol
    .transport.socket;
  const counter = { writes: 0 };
  // Node's stream internals: one call each time bytes are handed to the operating system.
  const internal = socket as unknown as Record<"_write" | "_writev", (...a: unknown[]) => void>;
  for (const name of ["_write", "_writev"] as const) {
    const original = internal[name].bind(socket);
    internal[name] = (...args: unknown[]) => {
      counter.writes += 1;
      original(...args);
    };
  }
  return counter;
}

/** Publishes `count` messages, each from its own promise callback, all in one turn. */
async function publishFromCallbacks(nc: NatsConnection, subject: string, count: number) {
  for (let i = 0; i < count; i++) {
    await Promise.resolve();
    nc.publish(subject, String(i));
  }
}

async function receive(nc: NatsConnection, subject: string, count: number): Promise<string[]> {
  const sub = nc.subscribe(subject, { max: count });
  await nc.flush();
  return (async () => {
    const got: string[] = [];
    for await (const msg of sub) got.push(msg.string());
    return got;
  })();
}

describe("socket write batching", () => {
  it("sends one turn's publishes, made from 50 promise callbacks, in one write and in order — also after a reconnect", async () => {
    const nats = await startNats();
    const reader = await connect({ servers: nats.url, maxReconnectAttempts: -1 });
    closers.push(() => reader.close());
    const nc = await connect({
      servers: nats.url,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
    });
    closers.push(() => nc.close());
    batchSocketWrites(nc);
    const expected = Array.from({ length: 50 }, (_, i) => String(i));

    const first = receive(reader, "batched", 50);
    const writes = countWrites(nc);
    await publishFromCallbacks(nc, "batched", 50);
    await nc.flush();
    expect(await first).toEqual(expected);
    expect(writes.writes).toBe(1); // the publishes and flush()'s PING, all of the same turn

    const reconnected = [nc, reader].map(async (c) => {
      for await (const status of c.status()) if (status.type === "reconnect") return;
    });
    await nats.restart();
    await Promise.all(reconnected);
    const second = receive(reader, "again", 50);
    const writesAfter = countWrites(nc);
    await publishFromCallbacks(nc, "again", 50);
    await nc.flush();
    expect(await second).toEqual(expected);
    expect(writesAfter.writes).toBe(1);
  });

  it("without it, the same publishes take a write each: what the batching saves", async () => {
    const nats = await startNats();
    const nc = await connect({ servers: nats.url });
    closers.push(() => nc.close());
    const writes = countWrites(nc);
    await publishFromCallbacks(nc, "unbatched", 50);
    await nc.flush();
    expect(writes.writes).toBeGreaterThanOrEqual(50);
  });
});
