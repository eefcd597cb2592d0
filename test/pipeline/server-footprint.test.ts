import { jetstreamManager } from "@nats-io/jetstream";
import { beforeAll, describe, expect, it } from "vitest";
import { names as namesFor } from "../../src/transport/subjects.ts";
import { type ApiClient, apiClient } from "../support/api-client.ts";
import { quickSpec, submit, waitForJob } from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";
import { startTroupes } from "../support/troupe-process.ts";

const names = namesFor("troupe");
const RESULTS_STREAM = `KV_${names.buckets.results}`;

let client: ApiClient;

beforeAll(async () => {
  const nats = await startNats();
  await startTroupes(1, nats.url, { MAX_CONCURRENT_TASKS: "2" });
  client = await apiClient(nats.url);
});

describe("what a job leaves in nats-server", () => {
  // Hundreds of left-over consumers make a restarting nats-server recover each from its store.
  it("a finished job's results watch is deleted with it, not left for the server to expire", async () => {
    let deleted!: () => void;
    const watchDeleted = new Promise<void>((resolve) => {
      deleted = resolve;
    });
    const advisories = client.nc.subscribe(
      `$JS.EVENT.ADVISORY.CONSUMER.DELETED.${RESULTS_STREAM}.>`,
      { callback: () => deleted() },
    );
    await client.nc.flush();

    const jobId = await submit(client, quickSpec({ tasks: 3 }));
    expect((await waitForJob(client, jobId)).status).toBe("COMPLETED");
    await watchDeleted;
    advisories.unsubscribe();

    const jsm = await jetstreamManager(client.nc);
    const left = await jsm.consumers.list(RESULTS_STREAM).next();
    expect(left.map((consumer) => consumer.name)).toEqual([]);
  });
});
