import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterEach, describe, expect, it } from "vitest";
import { JetStreamPublisher } from "../../src/transport/js-publisher.ts";
import { NatsUnavailableError } from "../../src/transport/nats-errors.ts";
import { startNats } from "../support/nats.ts";

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

describe("the lean JetStream publisher", () => {
  it("fails the publishes a dropped connection will never see acknowledged, not at their timeout", async () => {
    const nats = await startNats();
    const nc = await connect({
      servers: nats.url,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
    });
    closers.push(() => nc.close());
    // A subscriber that takes the message and never answers stands in for a stream whose
    // acknowledgement is lost as the server goes down.
    const swallow = await connect({ servers: nats.url, maxReconnectAttempts: 0 });
    closers.push(() => swallow.close());
    let received!: () => void;
    const taken = new Promise<void>((resolve) => {
      received = resolve;
    });
    swallow.subscribe("swallowed", { callback: () => received() });
    await swallow.flush();
    // A timeout longer than any test: only the dropped connection can settle this publish.
    const publisher = new JetStreamPublisher(nc, { timeoutMs: 3_600_000 });
    const publish = publisher.publish("swallowed", new Uint8Array([1]));
    publish.catch(() => undefined);
    await taken;

    const reconnected = (async () => {
      for await (const status of nc.status()) if (status.type === "reconnect") return;
    })();
    await nats.stop();
    const error = await publish.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NatsUnavailableError);
    expect((error as Error).message).toContain("dropped before JetStream acknowledged");

    // What is published while the line is down, the client drops on reconnect: failed then.
    const meanwhile = publisher.publish("kept", new Uint8Array([2]));
    meanwhile.catch(() => undefined);
    await nats.restart();
    await reconnected;
    expect(await meanwhile.catch((e: unknown) => e)).toBeInstanceOf(NatsUnavailableError);

    // The publisher serves on once NATS is back.
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "KEPT", subjects: ["kept"] });
    await expect(publisher.publish("kept", new Uint8Array([3]))).resolves.toMatchObject({
      stream: "KEPT",
      seq: 1,
    });
  });
});
