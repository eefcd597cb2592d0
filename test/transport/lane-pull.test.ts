import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterEach, describe, expect, it } from "vitest";
import { LanePuller } from "../../src/transport/lane-pull.ts";
import { startNats } from "../support/nats.ts";

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

const text = new TextDecoder();

/**
 * A puller on a fresh nats-server holding a work-queue stream with a pull consumer per lane and
 * `counts[lane]` messages queued in each.
 */
async function pullerOver(counts: Record<string, number>): Promise<LanePuller> {
  const nats = await startNats();
  const nc = await connect({ servers: nats.url });
  closers.push(() => nc.close());
  await queued(nc, counts);
  const puller = new LanePuller(nc);
  closers.push(async () => puller.close());
  return puller;
}

async function queued(nc: NatsConnection, counts: Record<string, number>): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({
    name: "WORK",
    subjects: ["work.>"],
    retention: RetentionPolicy.Workqueue,
  });
  const js = jetstream(nc);
  for (const [lane, count] of Object.entries(counts)) {
    await jsm.consumers.add("WORK", {
      durable_name: lane,
      filter_subject: `work.${lane}`,
      ack_policy: AckPolicy.Explicit,
    });
    for (let i = 0; i < count; i++) await js.publish(`work.${lane}`, `${lane}-${i}`);
  }
}

describe("pulling from the lanes", () => {
  it("returns what a lane holds now, up to the batch, and nothing from an empty lane", async () => {
    const puller = await pullerOver({ normal: 3, urgent: 0 });

    expect(await puller.pull("WORK", "urgent", 4)).toEqual([]);
    const first = await puller.pull("WORK", "normal", 2);
    expect(first.map((d) => text.decode(d.data))).toEqual(["normal-0", "normal-1"]);
    expect(first.map((d) => [d.consumer, d.deliveryCount])).toEqual([
      ["normal", 1],
      ["normal", 1],
    ]);
    // Fewer than asked: the pull ends as soon as the server says there is no more.
    const rest = await puller.pull("WORK", "normal", 5);
    expect(rest.map((d) => text.decode(d.data))).toEqual(["normal-2"]);
  });

  it("gives each of several pulls in flight the messages of its own lane", async () => {
    const puller = await pullerOver({ high: 2, low: 2 });

    const [high, low] = await Promise.all([
      puller.pull("WORK", "high", 3),
      puller.pull("WORK", "low", 3),
    ]);
    expect(high.map((d) => text.decode(d.data))).toEqual(["high-0", "high-1"]);
    expect(low.map((d) => text.decode(d.data))).toEqual(["low-0", "low-1"]);
  });
});
