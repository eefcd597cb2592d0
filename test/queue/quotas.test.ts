import { describe, expect, it } from "vitest";
import { type ApiClient, apiClient } from "../support/api-client.ts";
import {
  collectTaskEvents,
  longSpec,
  quickSpec,
  submit,
  TERMINAL,
  waitForJob,
} from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";
import { startTroupes } from "../support/troupe-process.ts";

/** Job state changes in arrival order: `[job_id, status]`. */
function collectJobEvents(client: ApiClient): [string, string][] {
  const seen: [string, string][] = [];
  const decoder = new TextDecoder();
  client.nc.subscribe("troupe.events.job.*", {
    callback: (_error, msg) => {
      const event = JSON.parse(decoder.decode(msg.data)) as { job_id: string; status: string };
      seen.push([event.job_id, event.status]);
    },
  });
  return seen;
}

/** The most jobs of `group` running at once, replayed from their state changes. */
function maxRunning(events: [string, string][], group: ReadonlySet<string>): number {
  const running = new Set<string>();
  let max = 0;
  for (const [jobId, status] of events) {
    if (!group.has(jobId)) continue;
    if (status === "RUNNING") running.add(jobId);
    if (TERMINAL.includes(status)) running.delete(jobId);
    max = Math.max(max, running.size);
  }
  return max;
}

/** A job of a few seconds' training. */
const seconds = (overrides: Record<string, unknown>) =>
  quickSpec({
    model_type: "neural_network",
    dataset: { samples: 8_000, features: 16, seed: 4 },
    epochs: 6,
    tasks: 1,
    ...overrides,
  });

describe("job-level quotas", () => {
  it("SERVICE_NEURAL_NETWORK_RUNS_PER_USER=1: alice never runs two neural-network jobs at once, while her xgboost job and bob's run", async () => {
    const nats = await startNats();
    await startTroupes(2, nats.url, {
      MAX_CONCURRENT_TASKS: "2",
      SERVICE_NEURAL_NETWORK_RUNS_PER_USER: "1",
    });
    const client = await apiClient(nats.url);
    const events = collectJobEvents(client);
    const aliceNn = [];
    for (let i = 0; i < 3; i++) aliceNn.push(await submit(client, seconds({ user_id: "alice" })));
    const aliceXgb = await submit(
      client,
      quickSpec({
        model_type: "xgboost",
        user_id: "alice",
        tasks: 1,
        epochs: 40,
        dataset: { samples: 4_000, features: 16, seed: 4 },
      }),
    );
    const bobNn = await submit(client, seconds({ user_id: "bob" }));
    const held = await client.request<{ pending_jobs: number }>("troupe.queue.status", {});
    expect(held.body.pending_jobs).toBeGreaterThanOrEqual(1);
    for (const id of [...aliceNn, aliceXgb, bobNn]) {
      expect((await waitForJob(client, id)).status).toBe("COMPLETED");
    }
    expect(maxRunning(events, new Set(aliceNn))).toBe(1);
    // The quota held alice's neural-network jobs only: others ran beside them.
    expect(maxRunning(events, new Set([...aliceNn, aliceXgb, bobNn]))).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it("MAX_CONCURRENT_JOBS=2 holds across three processes, and held jobs go out in priority order", async () => {
    const nats = await startNats();
    await startTroupes(3, nats.url, { MAX_CONCURRENT_TASKS: "2", MAX_CONCURRENT_JOBS: "2" });
    const client = await apiClient(nats.url);
    const events = collectJobEvents(client);
    const seen = collectTaskEvents(client);
    const blockers = [
      await submit(client, longSpec({ tasks: 1 })),
      await submit(client, longSpec({ tasks: 1, user_id: "bob" })),
    ];
    await seen.until((e) =>
      blockers.every((id) => e.some((t) => t.job_id === id && t.status === "RUNNING")),
    );
    const low = await submit(client, seconds({ priority: "low" }));
    const normal = await submit(client, seconds({ user_id: "carol" }));
    const urgent = await submit(client, seconds({ priority: "urgent", user_id: "dave" }));
    for (const id of [low, normal, urgent]) {
      await waitForJob(client, id, 20_000, (job) => job.status === "QUEUED");
    }
    const status = await client.request<{ pending_jobs: number; running_jobs: number }>(
      "troupe.queue.status",
      {},
    );
    expect(status.body).toMatchObject({ pending_jobs: 3, running_jobs: 2 });

    await client.request("troupe.jobs.cancel", { job_id: blockers[0] });
    await waitForJob(client, urgent, 20_000, (job) => job.status !== "QUEUED");
    await client.request("troupe.jobs.cancel", { job_id: blockers[1] });
    for (const id of [low, normal, urgent]) {
      expect((await waitForJob(client, id)).status).toBe("COMPLETED");
    }
    const all = new Set([...blockers, low, normal, urgent]);
    expect(maxRunning(events, all)).toBe(2);
    const started = events
      .filter(([id, s]) => s === "RUNNING" && !blockers.includes(id))
      .map(([id]) => id);
    expect(started).toEqual([urgent, normal, low]);
  }, 60_000);

  it("JOB_TIMEOUT gives a job without timeout_s a deadline; a bad service is refused naming it", async () => {
    const nats = await startNats();
    await startTroupes(1, nats.url, { MAX_CONCURRENT_TASKS: "1", JOB_TIMEOUT: "2s" });
    const client = await apiClient(nats.url);
    const job = await waitForJob(client, await submit(client, longSpec({ tasks: 1 })));
    expect(job).toMatchObject({ status: "TIMEOUT", spec: { timeout_s: 2 } });
    const own = await client.request<{ spec: { timeout_s: number; service: string } }>(
      "troupe.jobs.get",
      { job_id: await submit(client, quickSpec({ timeout_s: 600, service: "lab_gpu" })) },
    );
    expect(own.body.spec).toMatchObject({ timeout_s: 600, service: "lab_gpu" });
    const refused = await client.request<{ error: { message: string } }>(
      "troupe.jobs.submit",
      quickSpec({ service: "Lab GPU" }),
    );
    expect(refused.serviceErrorCode).toBe("400");
    expect(refused.body.error.message).toMatch(/\/service/);
  }, 60_000);
});
