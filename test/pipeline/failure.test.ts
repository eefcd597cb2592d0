import { describe, expect, it } from "vitest";
import { apiClient } from "../support/api-client.ts";
import { collectTaskEvents, longSpec, quickSpec, submit, waitForJob } from "../support/jobs.ts";
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
});
