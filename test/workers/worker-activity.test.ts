import { beforeAll, describe, expect, it } from "vitest";
import { type ApiClient, apiClient } from "../support/api-client.ts";
import { collectTaskEvents, longSpec, quickSpec, submit, waitForJob } from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";
import { startTroupes } from "../support/troupe-process.ts";

interface Activity {
  workers: {
    worker_id: string;
    tasks_completed: number;
    tasks_failed: number;
    tasks_cancelled: number;
    tasks_retried: number;
  }[];
}

let client: ApiClient;

beforeAll(async () => {
  const nats = await startNats();
  // The pool threads of the first two tasks this process runs die (test-only fault hook).
  await startTroupes(1, nats.url, { MAX_CONCURRENT_TASKS: "2", TROUPE_FAULTS: "pool=2x" });
  client = await apiClient(nats.url);
});

/** The one worker's counters, once `holds` says they are up to date (they are written in batches). */
async function counters(holds: (w: Activity["workers"][number]) => boolean) {
  for (;;) {
    const { body } = await client.request<Activity>("troupe.workers.list", {});
    const [worker] = body.workers;
    if (worker && holds(worker)) return worker;
    await new Promise((resolve) => setTimeout(resolve, 50)); // between polls: no event says so
  }
}

describe("a worker's task counters", () => {
  it("count failed, retried, completed and cancelled tasks apart, as the jobs do", async () => {
    // A task whose only attempt fails: a failed task.
    const failed = await submit(client, quickSpec({ tasks: 1, retry_policy: { max_attempts: 1 } }));
    expect(await waitForJob(client, failed)).toMatchObject({ status: "FAILED", failed_tasks: 1 });
    // A task whose first attempt fails and second completes: a retry, then a completed task.
    const retried = await submit(
      client,
      quickSpec({ tasks: 1, retry_policy: { max_attempts: 2, backoff_ms: 50 } }),
    );
    expect(await waitForJob(client, retried)).toMatchObject({
      status: "COMPLETED",
      failed_tasks: 0,
      retries: 1,
    });
    // Three cancels of running jobs: cancelled tasks, none failed.
    const seen = collectTaskEvents(client);
    for (let i = 0; i < 3; i++) {
      const jobId = await submit(client, longSpec({ tasks: 2 }));
      await seen.until(
        (events) => events.filter((e) => e.job_id === jobId && e.status === "RUNNING").length === 2,
      );
      await client.request("troupe.jobs.cancel", { job_id: jobId });
      const job = await waitForJob(client, jobId);
      expect(job).toMatchObject({ status: "CANCELLED", failed_tasks: 0 });
    }
    seen.stop();
    // Nine runs ended here, whatever each counts as.
    const ended = (w: Activity["workers"][number]) =>
      w.tasks_completed + w.tasks_failed + (w.tasks_cancelled ?? 0) + (w.tasks_retried ?? 0);
    const worker = await counters((w) => ended(w) === 9);
    expect(worker).toMatchObject({
      tasks_completed: 1,
      tasks_failed: 1,
      tasks_retried: 1,
      tasks_cancelled: 6,
    });
  }, 120_000);
});
