import { jetstreamManager } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { apiClient } from "../support/api-client.ts";
import {
  collectTaskEvents,
  longSpec,
  quickSpec,
  submit,
  type TaskEventSeen,
  waitForJob,
} from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";
import { startTroupes } from "../support/troupe-process.ts";

describe("task failure", () => {
  it("retries a failing task by its retry_policy, then fails the job naming the task and the reason", async () => {
    const nats = await startNats();
    // Every attempt of a long task hits the task timeout: a failure that repeats.
    await startTroupes(1, nats.url, { MAX_CONCURRENT_TASKS: "2", TASK_TIMEOUT: "1s" });
    const client = await apiClient(nats.url);
    const seen = collectTaskEvents(client);

    const failing = await submit(
      client,
      longSpec({ tasks: 1, retry_policy: { max_attempts: 2, backoff_ms: 100 } }),
    );
    const healthy = await submit(client, quickSpec());
    const job = await waitForJob(client, failing);
    expect(job.status).toBe("FAILED");
    expect(job.error).toMatch(/^task 0 failed after 2 attempt\(s\): task exceeded TASK_TIMEOUT/);
    expect(job.failed_tasks).toBe(1);
    expect(job.retries).toBe(1);

    const attempts = seen.events
      .filter((e) => e.job_id === failing && e.status === "RUNNING")
      .map((e) => e.attempt);
    expect(attempts).toEqual([1, 2]);
    expect(seen.events.some((e) => e.job_id === failing && e.status === "RETRYING")).toBe(true);
    expect((await waitForJob(client, healthy)).status).toBe("COMPLETED");
  });

  it("does not spend a task's attempts on a NATS outage: the task is handed back and the job completes", async () => {
    const nats = await startNats();
    await startTroupes(1, nats.url, { MAX_CONCURRENT_TASKS: "1" });
    const client = await apiClient(nats.url);
    const seen = collectTaskEvents(client);
    const jobId = await submit(
      client,
      // A task of a second or so, which its job actor watches for by then.
      longSpec({ tasks: 1, epochs: 30, retry_policy: { max_attempts: 1, backoff_ms: 100 } }),
    );
    await seen.until((events) => events.some((e) => e.job_id === jobId && e.status === "RUNNING"));
    // The results stream stops taking writes, as while its leader is being elected: recording the
    // outcome meets "no stream for this subject" until it is back.
    const jsm = await jetstreamManager(client.nc);
    const { config } = await jsm.streams.info("KV_troupe_results");
    await jsm.streams.update(config.name, { ...config, subjects: ["troupe.test.unavailable.>"] });
    // Its run ends in a crash (the recording gave up): the task goes back to the queue.
    const requeued = (e: TaskEventSeen) =>
      e.job_id === jobId && (e.status === "QUEUED" || e.status === "RETRYING");
    await seen.until((events) => events.some(requeued));
    await jsm.streams.update(config.name, config);

    const job = await waitForJob(client, jobId);
    expect(job.error).toBeNull();
    expect(job.status).toBe("COMPLETED");
    expect(job.retries).toBe(0);
    expect(seen.events.some((e) => e.job_id === jobId && e.status === "RETRYING")).toBe(false);
    expect(seen.events.find(requeued)?.reason).toMatch(/^handed back: NATS unavailable/);
  });
});
