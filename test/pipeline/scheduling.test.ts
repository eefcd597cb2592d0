import { describe, expect, it } from "vitest";
import { type ApiClient, apiClient } from "../support/api-client.ts";
import {
  collectTaskEvents,
  type Job,
  longSpec,
  maxConcurrent,
  quickSpec,
  submit,
  type TaskEvents,
  waitForJob,
} from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";
import { startTroupes } from "../support/troupe-process.ts";

/** Tasks of about a tenth of a second. */
const shortTasks = (tasks: number, extra: Record<string, unknown> = {}) =>
  quickSpec({
    model_type: "neural_network",
    dataset: { samples: 6_000, features: 16, seed: 2 },
    epochs: 3,
    tasks,
    ...extra,
  });

/** The job's tasks are in their lanes (the job actor moves it to QUEUED once they are). */
const queued = (job: Job) => job.status !== "SUBMITTED";

/** Fills the only slot with a long task; returns its job id (cancel it to free the slot). */
async function occupySlot(client: ApiClient, seen: TaskEvents): Promise<string> {
  const blocker = await submit(client, longSpec({ tasks: 1 }));
  await seen.until((events) => events.some((e) => e.job_id === blocker && e.status === "RUNNING"));
  return blocker;
}

/** Order in which tasks first started: `<job>.<index>`. */
function startOrder(events: { job_id: string; task_index: number; status: string }[]): string[] {
  const seen = new Set<string>();
  for (const e of events) if (e.status === "RUNNING") seen.add(`${e.job_id}.${e.task_index}`);
  return [...seen];
}

describe("priority", () => {
  it("with one slot, starts queued urgent tasks before queued low ones", async () => {
    const nats = await startNats();
    await startTroupes(1, nats.url, { MAX_CONCURRENT_TASKS: "1", PRIORITY_AGING: "1h" });
    const client = await apiClient(nats.url);
    const seen = collectTaskEvents(client);
    // Occupy the slot so that both jobs below are queued at the same time.
    const blocker = await occupySlot(client, seen);
    const low = await submit(client, shortTasks(3, { priority: "low" }));
    const urgent = await submit(client, shortTasks(3, { priority: "urgent" }));
    // Both jobs' tasks are in their lanes (QUEUED) before the slot frees.
    for (const id of [low, urgent]) await waitForJob(client, id, 30_000, queued);
    await client.request("troupe.jobs.cancel", { job_id: blocker });
    await waitForJob(client, low);
    await waitForJob(client, urgent);

    const order = startOrder(seen.events).filter((key) => !key.startsWith(blocker));
    expect(order.map((key) => key.split(".")[0])).toEqual([urgent, urgent, urgent, low, low, low]);
  });

  it("still starts a low task while urgent ones keep coming (aging)", async () => {
    const nats = await startNats();
    await startTroupes(1, nats.url, { MAX_CONCURRENT_TASKS: "1", PRIORITY_AGING: "200ms" });
    const client = await apiClient(nats.url);
    const seen = collectTaskEvents(client);
    const blocker = await occupySlot(client, seen);
    const low = await submit(client, shortTasks(1, { priority: "low" }));
    // Urgent work that outlasts the low task's aging many times over.
    const urgent: string[] = [];
    for (let i = 0; i < 8; i++)
      urgent.push(await submit(client, shortTasks(6, { priority: "urgent" })));
    await client.request("troupe.jobs.cancel", { job_id: blocker });
    for (const id of [low, ...urgent])
      expect((await waitForJob(client, id)).status).toBe("COMPLETED");

    const order = startOrder(seen.events).filter((key) => !key.startsWith(blocker));
    const lowAt = order.indexOf(`${low}.0`);
    expect(lowAt).toBeGreaterThan(0); // urgent work went first while the low task was young
    expect(lowAt).toBeLessThan(order.length - 1); // and it did not wait for all of it
  });
});

describe("per-user quota", () => {
  it("never runs two of alice's tasks at once with quota 1, while bob's run beside them", async () => {
    const nats = await startNats();
    await startTroupes(2, nats.url, { MAX_CONCURRENT_TASKS: "3", QUOTA_RUNNING_PER_USER: "1" });
    const client = await apiClient(nats.url);
    const seen = collectTaskEvents(client);
    const alice = [
      await submit(client, shortTasks(4, { user_id: "alice" })),
      await submit(client, shortTasks(4, { user_id: "alice" })),
    ];
    const bob = [await submit(client, shortTasks(4, { user_id: "bob" }))];
    for (const id of [...alice, ...bob])
      expect((await waitForJob(client, id)).status).toBe("COMPLETED");

    expect(maxConcurrent(seen.events, new Set(alice))).toBe(1);
    expect(maxConcurrent(seen.events, new Set(bob))).toBe(1);
    // Both users had work running at the same moment: the quota did not serialize everyone.
    expect(maxConcurrent(seen.events, new Set([...alice, ...bob]))).toBe(2);
  });
});
