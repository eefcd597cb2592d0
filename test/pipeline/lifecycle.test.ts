import { beforeAll, describe, expect, it } from "vitest";
import { type ApiClient, apiClient } from "../support/api-client.ts";
import {
  collectTaskEvents,
  longSpec,
  quickSpec,
  submit,
  type TaskEvents,
  waitForJob,
} from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";
import { startTroupes } from "../support/troupe-process.ts";

let client: ApiClient;

beforeAll(async () => {
  const nats = await startNats();
  // The first worker actor to run a task crashes once (test-only fault hook).
  await startTroupes(1, nats.url, { MAX_CONCURRENT_TASKS: "2", TROUPE_FAULTS: "worker=1x" });
  client = await apiClient(nats.url);
});

/** Resolves once `count` tasks of `jobId` have been seen running. */
function tasksRunning(seen: TaskEvents, jobId: string, count: number): Promise<void> {
  return seen.until(
    (events) =>
      new Set(
        events.filter((e) => e.job_id === jobId && e.status === "RUNNING").map((e) => e.task_index),
      ).size >= count,
  );
}

describe("job lifecycle", () => {
  it("retries a task whose worker actor crashed, and the job completes with the retry on record", async () => {
    const seen = collectTaskEvents(client);
    const jobId = await submit(
      client,
      quickSpec({ tasks: 2, retry_policy: { max_attempts: 3, backoff_ms: 50 } }),
    );
    const job = await waitForJob(client, jobId);
    expect(job.status).toBe("COMPLETED");
    expect(job.retries).toBeGreaterThanOrEqual(1);
    const retry = seen.events.find((e) => e.job_id === jobId && e.status === "RETRYING");
    expect(retry?.error).toContain("worker crashed");
    expect(seen.events.filter((e) => e.job_id === jobId && e.status === "COMPLETED")).toHaveLength(
      2,
    );
  });

  it("cancels a running job: queued tasks never start, running ones are aborted, the pool is free again", async () => {
    const seen = collectTaskEvents(client);
    const jobId = await submit(client, longSpec({ tasks: 4 }));
    await tasksRunning(seen, jobId, 2);
    const reply = await client.request<{ status: string }>("troupe.jobs.cancel", { job_id: jobId });
    expect(reply.body.status).toBe("CANCELLED");
    const job = await waitForJob(client, jobId);
    expect(job.status).toBe("CANCELLED");
    expect(job.error).toContain("cancelled");

    // The pool is free: a new job runs to completion in the two slots the cancelled tasks held.
    const next = await submit(client, quickSpec());
    expect((await waitForJob(client, next)).status).toBe("COMPLETED");
    const started = new Set(
      seen.events
        .filter((e) => e.job_id === jobId && e.status === "RUNNING")
        .map((e) => e.task_index),
    );
    expect(started.size).toBe(2);
    // Each running task is told CANCELLED once its thread stopped (one may still be stopping
    // when the next job, in the other freed slot, has completed).
    await seen.until(
      (events) => events.filter((e) => e.job_id === jobId && e.status === "CANCELLED").length >= 2,
    );
    const aborted = seen.events.filter((e) => e.job_id === jobId && e.status === "CANCELLED");
    expect(aborted.map((e) => e.task_index).sort()).toEqual([...started].sort());
  });

  it("ends a job past its timeout_s as TIMEOUT and aborts its running tasks", async () => {
    const seen = collectTaskEvents(client);
    const jobId = await submit(client, longSpec({ tasks: 2, timeout_s: 2 }));
    const job = await waitForJob(client, jobId);
    expect(job.status).toBe("TIMEOUT");
    expect(job.error).toContain("timeout_s");
    const next = await submit(client, quickSpec());
    expect((await waitForJob(client, next)).status).toBe("COMPLETED");
    // Every task that ran is aborted (told once its thread has stopped at an epoch's end).
    const ran = (events: readonly { job_id: string; status: string; task_index: number }[]) =>
      new Set(
        events.filter((e) => e.job_id === jobId && e.status === "RUNNING").map((e) => e.task_index),
      );
    await seen.until((events) => {
      const cancelled = events.filter((e) => e.job_id === jobId && e.status === "CANCELLED");
      return cancelled.length >= ran(events).size;
    });
    expect(
      seen.events
        .filter((e) => e.job_id === jobId && e.status === "CANCELLED")
        .map((e) => e.task_index)
        .sort(),
    ).toEqual([...ran(seen.events)].sort());
  });
});
