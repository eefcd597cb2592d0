import { Kvm } from "@nats-io/kv";
import { describe, expect, it } from "vitest";
import type { JobEvent } from "../../src/contract/events.ts";
import { type ApiClient, apiClient } from "../support/api-client.ts";
import {
  collectTaskEvents,
  quickSpec,
  submit,
  type TaskEventSeen,
  TERMINAL,
  waitForJob,
} from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";
import { outcomesRecorded } from "../support/results.ts";
import { startTroupes } from "../support/troupe-process.ts";

// Tasks long enough (tens of milliseconds) that a kill or a restart lands while work is running.
const mediumSpec = (tasks: number) =>
  quickSpec({
    model_type: "neural_network",
    dataset: { samples: 8_000, features: 16, seed: 5 },
    epochs: 4,
    tasks,
  });

/** Messages ever stored in the results bucket: each is one recorded result (KV create only). */
async function resultsRecorded(url: string): Promise<number> {
  const client = await apiClient(url);
  return outcomesRecorded(client.nc);
}

/** Resolves once `count` distinct jobs have announced `status` (job events). */
function jobsReaching(client: ApiClient, status: string, count: number): Promise<void> {
  const jobs = new Set<string>();
  return new Promise((resolve) => {
    const sub = client.nc.subscribe("troupe.events.job.>", {
      callback: (_error, msg) => {
        const event = JSON.parse(new TextDecoder().decode(msg.data)) as JobEvent;
        if (event.status === status) jobs.add(event.job_id);
        if (jobs.size < count) return;
        sub.unsubscribe();
        resolve();
      },
    });
  });
}

describe("a cluster of troupe processes", () => {
  it("shares one job's tasks across three processes", async () => {
    const nats = await startNats();
    await startTroupes(3, nats.url, { MAX_CONCURRENT_TASKS: "1" });
    const client = await apiClient(nats.url);
    const seen = collectTaskEvents(client);
    const jobId = await submit(client, mediumSpec(24));
    expect((await waitForJob(client, jobId)).status).toBe("COMPLETED");
    const workers = new Set(
      seen.events.filter((e) => e.status === "COMPLETED").map((e) => e.worker_id),
    );
    expect(workers.size).toBe(3);
    expect(await resultsRecorded(nats.url)).toBe(24);
  });

  it("loses nothing when one of three processes is killed with SIGKILL mid-run", async () => {
    const nats = await startNats();
    const troupes = await startTroupes(3, nats.url, { MAX_CONCURRENT_TASKS: "2" });
    const client = await apiClient(nats.url);
    const seen = collectTaskEvents(client);
    const jobIds: string[] = [];
    for (let i = 0; i < 20; i++) jobIds.push(await submit(client, mediumSpec(3)));

    // Kill a process while it is running tasks (it has started some, and not all work is done).
    const victim = troupes[1];
    if (!victim) throw new Error("no victim");
    const victimId = (await victim.waitForLog("worker registered")).workerId as string;
    await seen.until((events) =>
      events.some((e) => e.worker_id === victimId && e.status === "RUNNING"),
    );
    victim.signal("SIGKILL");
    expect((await victim.exited).signal).toBe("SIGKILL");

    const jobs = await Promise.all(jobIds.map((id) => waitForJob(client, id)));
    expect(jobs.map((job) => job.status)).toEqual(jobIds.map(() => "COMPLETED"));
    for (const job of jobs) expect(job.completed_tasks).toBe(3);
    // Exactly once: 60 results stored in all, though some tasks ran twice.
    expect(await resultsRecorded(nats.url)).toBe(60);
    const list = await client.request<{ jobs: { status: string }[] }>("troupe.jobs.list", {
      limit: 100,
    });
    expect(list.body.jobs.filter((job) => !TERMINAL.includes(job.status))).toEqual([]);
  });

  it("resumes a killed process's task on another process from its last checkpoint", async () => {
    const nats = await startNats();
    const troupes = await startTroupes(2, nats.url, { MAX_CONCURRENT_TASKS: "1" });
    const client = await apiClient(nats.url);
    const ids = await Promise.all(
      troupes.map(async (t) => (await t.waitForLog("worker registered")).workerId as string),
    );
    const seen = collectTaskEvents(client);
    const epochsBy = new Map<string, number[]>();
    const progress = client.nc.subscribe("troupe.events.task.>", {
      callback: (_error, msg) => {
        const event = JSON.parse(new TextDecoder().decode(msg.data)) as TaskEventSeen;
        if (event.epoch === undefined) return;
        epochsBy.set(event.worker_id, [...(epochsBy.get(event.worker_id) ?? []), event.epoch]);
      },
    });
    const jobId = await submit(
      client,
      quickSpec({
        model_type: "neural_network",
        dataset: { samples: 4_000, features: 8, seed: 2 },
        epochs: 100,
        tasks: 1,
      }),
    );
    // Kill whichever process runs the task once a checkpoint of it is saved.
    const checkpoints = await new Kvm(client.nc).open("troupe_checkpoints");
    const saved = await checkpoints.watch({ key: `${jobId}.0` });
    for await (const _entry of saved) break;
    await seen.until((events) => events.some((e) => e.status === "RUNNING"));
    const first = seen.events.find((e) => e.status === "RUNNING")?.worker_id;
    const victim = troupes[ids.indexOf(first as string)];
    if (!victim) throw new Error(`no process has worker id ${first}`);
    victim.signal("SIGKILL");
    await victim.exited;

    expect((await waitForJob(client, jobId)).status).toBe("COMPLETED");
    progress.unsubscribe();
    const survivor = ids.find((id) => id !== first) as string;
    // The survivor started after the saved epoch, not from the first one.
    expect(epochsBy.get(survivor)?.[0]).toBeGreaterThan(1);
    expect(epochsBy.get(survivor)?.at(-1)).toBe(100);
    expect(await resultsRecorded(nats.url)).toBe(1);
  });

  it("finishes every job when nats-server restarts mid-run (same store)", async () => {
    const nats = await startNats();
    await startTroupes(2, nats.url, { MAX_CONCURRENT_TASKS: "2" });
    const client = await apiClient(nats.url);
    const seen = collectTaskEvents(client);
    const jobIds: string[] = [];
    for (let i = 0; i < 10; i++) jobIds.push(await submit(client, mediumSpec(3)));
    await seen.until((events) => events.some((e) => e.status === "COMPLETED"));
    await nats.restart();

    const jobs = await Promise.all(jobIds.map((id) => waitForJob(client, id)));
    expect(jobs.map((job) => job.status)).toEqual(jobIds.map(() => "COMPLETED"));
    expect(await resultsRecorded(nats.url)).toBe(30);
  });

  it("rides out a NATS restart with more live jobs than its job supervisor's restart intensity", async () => {
    const nats = await startNats();
    const [troupe] = await startTroupes(1, nats.url, {
      MAX_CONCURRENT_TASKS: "1",
      LOG_LEVEL: "debug", // job actors say at debug level that they met the outage
    });
    const client = await apiClient(nats.url);
    const seen = collectTaskEvents(client);
    // One slow task holds the only slot while 150 more jobs wait: 151 live job actors in one
    // process, where the jobs supervisor allows 100 restarts in 10 s.
    const slow = await submit(client, mediumSpec(1));
    await seen.until((events) => events.some((e) => e.job_id === slow && e.status === "RUNNING"));
    const allQueued = jobsReaching(client, "QUEUED", 150);
    const waiting = await Promise.all(
      Array.from({ length: 150 }, () => submit(client, quickSpec({ tasks: 1 }))),
    );
    await allQueued; // each has its job actor, which queued its task
    // NATS stays down until more than 100 job actors have met the outage (crashed and restarted,
    // retrying later, or handing the job back): past the intensity, if crashes counted.
    await nats.stop();
    const jobActorsHit = new Set<string>();
    await troupe?.waitForLog((line) => {
      if (line.msg === "actor restarted" && String(line.actor).startsWith("jobs/")) {
        jobActorsHit.add(String(line.actor).slice("jobs/".length));
      } else if (String(line.msg).startsWith("NATS unavailable;") && line.jobId) {
        jobActorsHit.add(String(line.jobId));
      }
      return jobActorsHit.size > 100 || line.msg === "stopped on a fatal error";
    }, 60_000);
    const fatal = (line: { msg?: unknown }) => line.msg === "stopped on a fatal error";
    expect(troupe?.logs.filter(fatal)).toEqual([]);
    await nats.restart();

    // Only this process can finish them: every job completing means it never stopped.
    const jobIds = [slow, ...waiting];
    const jobs = await Promise.all(jobIds.map((id) => waitForJob(client, id)));
    expect(jobs.map((job) => job.status)).toEqual(jobIds.map(() => "COMPLETED"));
    expect(troupe?.logs.filter(fatal)).toEqual([]);
  }, 120_000);
});
