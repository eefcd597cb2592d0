import { describe, expect, it } from "vitest";
import { type ApiClient, apiClient } from "../support/api-client.ts";
import {
  collectTaskEvents,
  getJob,
  type Job,
  longSpec,
  quickSpec,
  submit,
  type TaskEvents,
  waitForJob,
} from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";
import { startTroupes } from "../support/troupe-process.ts";

type Queued = Job & {
  priority?: string;
  queue_position?: number;
  estimated_start_time?: string | null;
  history?: { action: string; from?: unknown; to?: unknown; reason?: string }[];
};

/** One process with one slot, the slot taken by a long task: whatever is submitted next waits. */
async function oneBusySlot(): Promise<{ client: ApiClient; seen: TaskEvents; blocker: string }> {
  const nats = await startNats();
  await startTroupes(1, nats.url, { MAX_CONCURRENT_TASKS: "1", PRIORITY_AGING: "1h" });
  const client = await apiClient(nats.url);
  const seen = collectTaskEvents(client);
  const blocker = await submit(client, longSpec({ tasks: 1 }));
  await seen.until((events) => events.some((e) => e.job_id === blocker && e.status === "RUNNING"));
  return { client, seen, blocker };
}

/** Submits one-task jobs and waits until each is queued (its tasks in their lane). */
async function queueJobs(client: ApiClient, priorities: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const priority of priorities)
    ids.push(await submit(client, quickSpec({ tasks: 1, priority })));
  for (const id of ids) await waitForJob(client, id, 30_000, (job) => job.status === "QUEUED");
  return ids;
}

/** Jobs in the order their first task started. */
function startOrder(seen: TaskEvents, blocker: string): string[] {
  const order: string[] = [];
  for (const e of seen.events) {
    if (e.status === "RUNNING" && e.job_id !== blocker && !order.includes(e.job_id))
      order.push(e.job_id);
  }
  return order;
}

describe("reorder", () => {
  it("with one slot and five queued normal jobs, moving the last to position 1 starts it next", async () => {
    const { client, seen, blocker } = await oneBusySlot();
    const jobs = await queueJobs(client, ["normal", "normal", "normal", "normal", "normal"]);
    const last = jobs[4] as string;
    expect((await getJob(client, last)) as Queued).toMatchObject({ queue_position: 5 });

    const reply = await client.request("troupe.queue.reorder", {
      job_id: last,
      new_position: 1,
      reason: "blocking a release",
    });
    expect(reply.serviceError).toBeUndefined();
    expect(reply.body).toMatchObject({ job_id: last, position: 1, queue_position: 1 });
    const record = (await getJob(client, last)) as Queued;
    expect(record.queue_position).toBe(1);
    expect(record.history).toEqual([
      expect.objectContaining({ action: "reorder", from: 5, to: 1, reason: "blocking a release" }),
    ]);

    await client.request("troupe.jobs.cancel", { job_id: blocker });
    for (const id of jobs) expect((await waitForJob(client, id)).status).toBe("COMPLETED");
    expect(startOrder(seen, blocker)).toEqual([last, ...jobs.slice(0, 4)]);
  }, 60_000);
});

describe("priority change", () => {
  it("raising a queued low job to urgent starts it before the queued normal ones", async () => {
    const { client, seen, blocker } = await oneBusySlot();
    const [normal1, normal2, low] = (await queueJobs(client, ["normal", "normal", "low"])) as [
      string,
      string,
      string,
    ];
    const raised = await client.request<Queued>("troupe.jobs.priority", {
      job_id: low,
      priority: "urgent",
      reason: "the demo is at noon",
    });
    expect(raised.serviceError).toBeUndefined();
    expect(raised.body.priority).toBe("urgent");
    expect(raised.body.history?.at(-1)).toMatchObject({
      action: "priority",
      from: "low",
      to: "urgent",
      reason: "the demo is at noon",
    });
    await waitForJob(client, low, 10_000, (job) => (job as Queued).queue_position === 1);

    await client.request("troupe.jobs.cancel", { job_id: blocker });
    for (const id of [normal1, normal2, low]) {
      expect((await waitForJob(client, id)).status).toBe("COMPLETED");
    }
    expect(startOrder(seen, blocker)).toEqual([low, normal1, normal2]);
  }, 60_000);
});

describe("where a job stands", () => {
  it("queue_position counts down as the jobs ahead start", async () => {
    const { client, seen, blocker } = await oneBusySlot();
    const ahead = [
      await submit(client, longSpec({ tasks: 1 })),
      await submit(client, longSpec({ tasks: 1 })),
    ];
    for (const id of ahead) await waitForJob(client, id, 30_000, (job) => job.status === "QUEUED");
    const submitted = await client.request<{ job_id: string; queue_position: number }>(
      "troupe.jobs.submit",
      quickSpec({ tasks: 1 }),
    );
    expect(submitted.body.queue_position).toBe(3);
    const last = submitted.body.job_id;
    const place = (n: number) =>
      waitForJob(client, last, 20_000, (job) => (job as Queued).queue_position === n);
    await place(3);
    for (const [i, running] of [blocker, ...ahead].entries()) {
      await client.request("troupe.jobs.cancel", { job_id: running });
      if (i < ahead.length) {
        const next = ahead[i] as string;
        await seen.until((events) =>
          events.some((e) => e.job_id === next && e.status === "RUNNING"),
        );
        await place(2 - i);
      }
    }
    expect((await waitForJob(client, last)).status).toBe("COMPLETED");
  }, 60_000);

  it("estimates a start in the future, within a factor of 3 of the real start in a steady run", async () => {
    const nats = await startNats();
    await startTroupes(1, nats.url, { MAX_CONCURRENT_TASKS: "1" });
    const client = await apiClient(nats.url);
    const steady = () =>
      quickSpec({
        model_type: "neural_network",
        dataset: { samples: 3_000, features: 16, seed: 2 },
        epochs: 4,
        tasks: 1,
      });
    const first = [];
    for (let i = 0; i < 6; i++) first.push(await submit(client, steady()));
    // Starts seen for a while: a steady rate of job starts is known.
    await waitForJob(client, first[3] as string, 30_000, (job) => job.started_at !== null);
    const submittedAt = Date.now();
    const reply = await client.request<{
      job_id: string;
      queue_position: number;
      estimated_start_time: string;
    }>("troupe.jobs.submit", steady());
    const estimate = Date.parse(reply.body.estimated_start_time);
    expect(estimate).toBeGreaterThan(submittedAt);
    const started = await waitForJob(
      client,
      reply.body.job_id,
      60_000,
      (job) => job.started_at !== null,
    );
    const real = Date.parse(started.started_at as string) - submittedAt;
    const estimated = estimate - submittedAt;
    expect(estimated / real).toBeGreaterThan(1 / 3);
    expect(estimated / real).toBeLessThan(3);
  }, 60_000);
});

describe("bad queue requests", () => {
  it("answer a clear error naming the problem, and the process stays up", async () => {
    const { client, blocker } = await oneBusySlot();
    const [queued] = (await queueJobs(client, ["normal"])) as [string];
    const unknown = "job_0000000000000000000";
    const cases: [string, unknown, string, RegExp][] = [
      ["troupe.jobs.priority", { job_id: unknown, priority: "high" }, "404", /no job/],
      ["troupe.jobs.priority", { job_id: queued, priority: "soon" }, "400", /\/priority/],
      ["troupe.jobs.priority", { job_id: queued }, "400", /priority/],
      ["troupe.queue.reorder", { job_id: unknown, new_position: 1 }, "404", /no job/],
      [
        "troupe.queue.reorder",
        { job_id: blocker, new_position: 1 },
        "409",
        /cannot reorder .*it is RUNNING.*QUEUED/,
      ],
      [
        "troupe.queue.reorder",
        { job_id: queued, new_position: 2 },
        "400",
        /new_position.*out of range: 1 job/,
      ],
      ["troupe.queue.reorder", { job_id: queued, new_position: 0 }, "400", /new_position/],
    ];
    for (const [subject, body, code, message] of cases) {
      const reply = await client.request<{ error: { message: string } }>(subject, body);
      expect(reply.serviceErrorCode, JSON.stringify(body)).toBe(code);
      expect(reply.body.error.message).toMatch(message);
    }
    await client.request("troupe.jobs.cancel", { job_id: queued });
    const ended = await client.request<{ error: { message: string } }>("troupe.jobs.priority", {
      job_id: queued,
      priority: "high",
    });
    expect(ended.serviceErrorCode).toBe("409");
    expect(ended.body.error.message).toMatch(/it is CANCELLED/);
    // Still serving.
    expect((await getJob(client, blocker)).status).toBe("RUNNING");
  }, 60_000);
});
