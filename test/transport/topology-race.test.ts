import { afterAll, describe, expect, it } from "vitest";
import { connectNats, type NatsConnection } from "../../src/transport/connection.ts";
import { ensureTopology } from "../../src/transport/streams.ts";
import { names } from "../../src/transport/subjects.ts";
import { silentLog } from "../http/support.ts";
import { startNats } from "../support/nats.ts";

const open: NatsConnection[] = [];
afterAll(() => Promise.all(open.map((nc) => nc.close())));

describe("processes starting together", () => {
  it("each make or find the same streams, buckets and lanes on a fresh server, none failing", async () => {
    const nats = await startNats();
    const n = names("troupe");
    const starts = Array.from({ length: 6 }, async (_, i) => {
      const nc = await connectNats({ servers: [nats.url], name: `racer-${i}`, log: silentLog });
      open.push(nc);
      return ensureTopology(nc, n, { replicas: 1, leaseMs: 3000, jobLeaseMs: 3000 });
    });
    const topologies = await Promise.all(starts);
    expect(topologies).toHaveLength(6);
  });
});
