import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NatsConnection } from "../../src/transport/connection.ts";
import { natsTaskPorts } from "../../src/transport/nats-ports.ts";
import type { TaskPorts } from "../../src/transport/ports.ts";
import { ensureTopology } from "../../src/transport/streams.ts";
import { names } from "../../src/transport/subjects.ts";
import { MemoryBucket } from "../support/memory-ports.ts";
import { startNats } from "../support/nats.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string) => encoder.encode(text);

let nc: NatsConnection;
let ports: TaskPorts;
let topology: Awaited<ReturnType<typeof ensureTopology>>;
beforeAll(async () => {
  const nats = await startNats();
  nc = await connect({ servers: nats.url });
  const n = names("troupe");
  topology = await ensureTopology(nc, n, { replicas: 1, leaseMs: 1000, jobLeaseMs: 3000 });
  ports = natsTaskPorts(nc, n, topology);
});
afterAll(() => nc.close());

/** The same contract, on JetStream (through the lean publisher and without) and in memory. */
const buckets = [
  ["jobs bucket (lean writes)", () => ports.jobs],
  ["counts bucket (nats.js writes)", () => ports.counts],
  ["in memory", () => new MemoryBucket()],
] as const;

describe.each(buckets)("a bucket port: %s", (_name, bucketOf) => {
  it("creates once, changes only on the latest revision, lists and purges by pattern", async () => {
    const bucket = bucketOf();
    const key = `job_${Math.random().toString(36).slice(2)}`;
    const first = await bucket.create(`${key}.0`, bytes("a"));
    expect(first).toBeGreaterThan(0);
    expect(await bucket.create(`${key}.0`, bytes("again"))).toBeUndefined();
    const second = await bucket.update(`${key}.0`, bytes("b"), first as number);
    expect(second).toBeGreaterThan(first as number);
    expect(await bucket.update(`${key}.0`, bytes("stale"), first as number)).toBeUndefined();
    const entry = await bucket.get(`${key}.0`);
    expect(entry && decoder.decode(entry.value)).toBe("b");
    expect(entry?.revision).toBe(second);
    await bucket.put(`${key}.1`, bytes("c"));
    expect((await bucket.keys(`${key}.>`)).sort()).toEqual([`${key}.0`, `${key}.1`]);
    await bucket.purge(`${key}.>`);
    expect(await bucket.get(`${key}.0`)).toBeUndefined();
    expect(await bucket.get(`${key}.1`)).toBeUndefined();
  });
});

describe("the result log on JetStream", () => {
  /** A follower of `job` through `log`, whose announcements can be awaited one by one. */
  function follower(log: TaskPorts["results"], job: string) {
    const heard: [number, number, string | undefined][] = [];
    const waiting: (() => void)[] = [];
    const stop = log.follow(
      job,
      (chunk, generation, record) => {
        heard.push([chunk, generation, record && decoder.decode(record)]);
        waiting.shift()?.();
      },
      () => undefined,
    );
    const heardAll = (count: number) =>
      new Promise<void>((resolve) => {
        const check = () => (heard.length >= count ? resolve() : waiting.push(check));
        check();
      });
    return { heard, heardAll, stop };
  }

  it("records a generation once; the announcement carries the record to a follower elsewhere", async () => {
    const job = "job_resultlog";
    const other = await connect({ servers: nc.getServer() });
    const elsewhere = follower(natsTaskPorts(other, names("troupe"), topology).results, job);
    await other.flush();
    expect(await ports.results.create(job, 3, 0, bytes("r0"))).toBe(true);
    expect(await ports.results.create(job, 3, 0, bytes("other"))).toBe(false);
    ports.results.announce(job, 3, 0, bytes("r0"));
    ports.results.announce(job, 3, 1);
    await elsewhere.heardAll(2);
    elsewhere.stop();
    await other.close();
    expect(elsewhere.heard).toEqual([
      [3, 0, "r0"],
      [3, 1, undefined],
    ]);
    expect(await ports.results.recorded(job)).toEqual([[3, 0]]);
    const read = await ports.results.read(job, 3, 0);
    expect(read && decoder.decode(read)).toBe("r0");
  });

  it("hands a follower in the same process the record directly, and one elsewhere a bare announcement", async () => {
    const job = "job_resultlog_local";
    const other = await connect({ servers: nc.getServer() });
    const elsewhere = follower(natsTaskPorts(other, names("troupe"), topology).results, job);
    const here = follower(ports.results, job);
    await Promise.all([other.flush(), nc.flush()]);
    ports.results.announce(job, 0, 0, bytes("r0"));
    expect(here.heard).toEqual([[0, 0, "r0"]]); // before anything crossed the socket
    await elsewhere.heardAll(1);
    expect(elsewhere.heard).toEqual([[0, 0, undefined]]); // it reads the record from the bucket
    here.stop();
    elsewhere.stop();
    await other.close();
  });
});

describe("the queue book on JetStream", () => {
  const entry = (job_id: string) => ({
    job_id,
    priority: "normal" as const,
    user_id: "alice",
    service: "svm",
    status: "QUEUED" as const,
    total_tasks: 1,
    chunk_size: 1,
    order: 1,
  });

  it("drops the markers of removed entries once old enough, and a new follower hears only the live ones", async () => {
    const book = ports.book;
    const heard = new Map<string, unknown>();
    const stop = book.follow(
      (jobId, e) => (e ? heard.set(jobId, e) : heard.delete(jobId)),
      () => heard.clear(),
    );
    await Promise.all(["job_a", "job_b", "job_c"].map((id) => book.put(entry(id))));
    await Promise.all(["job_a", "job_b"].map((id) => book.remove(id)));
    await expect.poll(() => [...heard.keys()]).toEqual(["job_c"]);

    // Removed just now: kept while followers may still be hearing it.
    expect(await book.forgetRemoved(Date.now() - 60_000)).toBe(0);
    expect(await book.forgetRemoved(Date.now() + 1)).toBe(2);
    const stream = await topology.jsm.streams.info("KV_troupe_queue");
    expect(stream.state.messages).toBe(1);
    expect(await book.forgetRemoved(Date.now() + 1)).toBe(0);

    const fresh: string[] = [];
    const ready = new Promise<void>((resolve) => {
      const stopFresh = book.follow(
        (jobId) => {
          fresh.push(jobId);
          stopFresh();
          resolve();
        },
        () => undefined,
      );
    });
    await ready;
    expect(fresh).toEqual(["job_c"]);
    expect([...heard.keys()]).toEqual(["job_c"]);
    stop();
  });
});

describe("a resource class's lanes on JetStream", () => {
  it("are made before the class is announced, and move, count and purge like the default lanes", async () => {
    const job = "job_classlanes";
    let stop = () => {};
    const announced = new Promise<void>((resolve) => {
      stop = ports.classes.follow((key) => {
        if (key === "ktest") resolve();
      });
    });
    const resourceClass = {
      need: { cpu_cores: 2, memory_gb: 1, gpu_count: 0 },
      service: "svm",
      node_selector: {},
    };
    await ports.classes.register("ktest", resourceClass);
    await ports.classes.register("ktest", resourceClass); // again: nothing more to do
    const chunks = [0, 1, 2].map((i) => ({ id: `${job}.${i}`, data: bytes(String(i)) }));
    await ports.queue.enqueue("low", job, chunks, "ktest");
    expect((await ports.queue.backlog()).low.get(job)).toBe(3);

    expect(await ports.queue.move(job, "low", "urgent")).toBe(3);
    const backlog = await ports.queue.backlog();
    expect([backlog.low.get(job), backlog.urgent.get(job)]).toEqual([undefined, 3]);
    const info = await topology.jsm.consumers.info("TROUPE_TASKS", "lane-urgent-ktest");
    expect(info.num_pending).toBe(3); // in the class's own lane, not the default one

    await ports.queue.purge(job);
    expect((await ports.queue.backlog()).urgent.get(job)).toBeUndefined();
    await announced; // every follower is told of the class
    stop();
  });
});
