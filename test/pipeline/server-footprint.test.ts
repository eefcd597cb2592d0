import { jetstreamManager } from "@nats-io/jetstream";
import { beforeAll, describe, expect, it } from "vitest";
import { kvStream } from "../../src/transport/kv.ts";
import { names as namesFor } from "../../src/transport/subjects.ts";
import { type ApiClient, apiClient } from "../support/api-client.ts";
import { quickSpec, submit, waitForJob } from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";
import { startTroupes } from "../support/troupe-process.ts";

const names = namesFor("troupe");
const RESULTS_STREAM = kvStream(names.buckets.results);
const WORKERS_STREAM = kvStream(names.buckets.workers);

let client: ApiClient;

beforeAll(async () => {
  const nats = await startNats();
  // Two processes, so that each heartbeat's sweep of its peers reads the workers bucket.
  await startTroupes(2, nats.url, { MAX_CONCURRENT_TASKS: "2", HEARTBEAT_INTERVAL: "200ms" });
  client = await apiClient(nats.url);
});

describe("what a job leaves in nats-server", () => {
  // Hundreds of left-over consumers make a restarting nats-server recover each from its store.
  it("following a job's results creates no consumer on the results stream at all", async () => {
    let created = 0;
    const advisories = client.nc.subscribe(
      `$JS.EVENT.ADVISORY.CONSUMER.CREATED.${RESULTS_STREAM}.>`,
      {
        callback: () => {
          created += 1;
        },
      },
    );
    await client.nc.flush();

    const jobId = await submit(client, quickSpec({ tasks: 3 }));
    expect((await waitForJob(client, jobId)).status).toBe("COMPLETED");
    await client.nc.flush();
    advisories.unsubscribe();

    expect(created).toBe(0);
    const jsm = await jetstreamManager(client.nc);
    const left = await jsm.consumers.list(RESULTS_STREAM).next();
    expect(left.map((consumer) => consumer.name)).toEqual([]);
  });

  it("heartbeats and their sweeps of the peers leave no consumer behind", async () => {
    let created = 0;
    const advisories = client.nc.subscribe(
      `$JS.EVENT.ADVISORY.CONSUMER.CREATED.${WORKERS_STREAM}.>`,
      {
        callback: () => {
          created += 1;
        },
      },
    );
    await client.nc.flush();
    let heartbeats = 0;
    let enough!: () => void;
    const seen = new Promise<void>((resolve) => {
      enough = resolve;
    });
    const sub = client.nc.subscribe(names.events.allWorkers, {
      callback: (_error, msg) => {
        const event = JSON.parse(new TextDecoder().decode(msg.data)) as { event: string };
        if (event.event === "heartbeat" && ++heartbeats === 6) enough();
      },
    });
    await seen;
    sub.unsubscribe();
    const workers = await client.request<{ workers: unknown[] }>("troupe.workers.list", {});
    expect(workers.body.workers).toHaveLength(2);

    advisories.unsubscribe();

    // Six heartbeats, each sweeping the peers, made none; what stands is each process's one
    // watch of the records (placement follows them), taken at its start.
    expect(created).toBe(0);
    const jsm = await jetstreamManager(client.nc);
    const left = await jsm.consumers.list(WORKERS_STREAM).next();
    expect(left.length).toBeLessThanOrEqual(2);
  });
});
