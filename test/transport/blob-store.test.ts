import { createHash } from "node:crypto";
import { Objm } from "@nats-io/obj";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NatsConnection } from "../../src/transport/connection.ts";
import { type DataStores, openDataStores } from "../../src/transport/nats-blob-store.ts";
import { ensureTopology } from "../../src/transport/streams.ts";
import { names } from "../../src/transport/subjects.ts";
import { startNats } from "../support/nats.ts";

let nc: NatsConnection;
let stores: DataStores;
beforeAll(async () => {
  const nats = await startNats();
  nc = await connect({ servers: nats.url });
  const n = names("troupe");
  const topology = await ensureTopology(nc, n, { replicas: 1, leaseMs: 1000, jobLeaseMs: 3000 });
  stores = await openDataStores(nc, n, topology, 1);
});
afterAll(() => nc.close());

async function readWithNatsJs(name: string): Promise<{ text: string; digest: string } | null> {
  const store = await new Objm(nc).open("troupe_artifacts");
  const found = await store.get(name);
  if (!found) return null;
  const chunks: Uint8Array[] = [];
  const reader = found.data.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
  }
  return { text: Buffer.concat(chunks).toString(), digest: found.info.digest };
}

describe("a blob store's create", () => {
  it("stores an object once, readable by nats.js as its own; a second create changes nothing and leaves no chunk behind", async () => {
    const name = "job_blob/metrics.json";
    const first = Buffer.from('{"accuracy": 0.93}');
    expect(await stores.artifacts.create(name, first)).toBe(true);
    const read = await readWithNatsJs(name);
    const sha = createHash("sha256").update(first).digest("base64url");
    expect(read?.text).toBe('{"accuracy": 0.93}');
    expect(read?.digest.replace(/=+$/, "")).toBe(`SHA-256=${sha}`);
    expect((await stores.artifacts.info(name))?.sha256).toBe(
      createHash("sha256").update(first).digest("hex"),
    );

    const messages = async () =>
      (await (await new Objm(nc).open("troupe_artifacts")).status()).size;
    const before = await messages();
    expect(await stores.artifacts.create(name, Buffer.from("another"))).toBe(false);
    expect((await readWithNatsJs(name))?.text).toBe('{"accuracy": 0.93}');
    expect(await messages()).toBe(before);
  });

  it("stores an object larger than one chunk through the streamed path, once", async () => {
    const name = "job_blob/predictions.csv";
    const big = Buffer.alloc(300 * 1024, "7,1\n");
    expect(await stores.artifacts.create(name, big)).toBe(true);
    expect(await stores.artifacts.create(name, Buffer.from("x"))).toBe(false);
    const read = await readWithNatsJs(name);
    expect(read?.text.length).toBe(big.byteLength);
  });
});
