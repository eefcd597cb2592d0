import { jetstreamManager } from "@nats-io/jetstream";
import { beforeAll, describe, expect, it } from "vitest";
import { type ApiClient, apiClient } from "../support/api-client.ts";
import { collectTaskEvents, quickSpec, submit, waitForJob } from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";
import { outcomesRecorded } from "../support/results.ts";
import { startTroupes } from "../support/troupe-process.ts";

let client: ApiClient;

beforeAll(async () => {
  const nats = await startNats();
  // The first task's pool thread dies; every ack leaves 2 s late, past the 1.5 s lease.
  await startTroupes(1, nats.url, {
    MAX_CONCURRENT_TASKS: "2",
    HEARTBEAT_INTERVAL: "500ms",
    TROUPE_FAULTS: "pool=1x,ack-delay=2000ms",
  });
  client = await apiClient(nats.url);
});

async function resultsRecorded(): Promise<number> {
  return outcomesRecorded(client.nc);
}

/** Deliveries the normal lane has made so far, redeliveries included. */
async function deliveries(): Promise<number> {
  const jsm = await jetstreamManager(client.nc);
  return (await jsm.consumers.info("TROUPE_TASKS", "lane-normal")).delivered.consumer_seq;
}

/** Resolves once `test` holds, looking every 100 ms; rejects after `ms`. */
async function eventually(test: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("fault injection (TROUPE_FAULTS)", () => {
  it("retries a task whose pool thread died, on a fresh thread, and completes the job", async () => {
    const seen = collectTaskEvents(client);
    const jobId = await submit(
      client,
      quickSpec({ tasks: 2, retry_policy: { max_attempts: 3, backoff_ms: 50 } }),
    );
    const job = await waitForJob(client, jobId);
    expect(job.status).toBe("COMPLETED");
    const retry = seen.events.find((e) => e.job_id === jobId && e.status === "RETRYING");
    expect(retry?.error).toContain("training thread failed");
    const completed = seen.events.filter((e) => e.job_id === jobId && e.status === "COMPLETED");
    expect(completed.map((e) => e.task_index).sort()).toEqual([0, 1]);
  });

  it("records each result once when acks arrive after the lease expired and the task came back", async () => {
    const before = await resultsRecorded();
    const delivered = await deliveries();
    const jobId = await submit(client, quickSpec({ tasks: 3 }));
    const job = await waitForJob(client, jobId);
    expect(job.status).toBe("COMPLETED");
    const chunks = Math.ceil(3 / (job.chunk_size ?? 1));
    // No keep-alive follows a finished chunk, so its late ack lets the lease expire and JetStream
    // delivers it again: the second delivery finds its tasks recorded and only acks.
    await eventually(async () => (await deliveries()) - delivered >= 2 * chunks, 20_000);
    expect((await resultsRecorded()) - before).toBe(3);
  });
});
