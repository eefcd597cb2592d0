import { beforeAll, describe, expect, it } from "vitest";
import type { ResourceAvailability } from "../../src/contract/resources.ts";
import { eventually } from "../http/support.ts";
import { type ApiClient, apiClient } from "../support/api-client.ts";
import {
  collectTaskEvents,
  type Job,
  longSpec,
  quickSpec,
  submit,
  type TaskEventSeen,
  type TaskEvents,
  waitForJob,
} from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";
import { spawnTroupe, type TroupeProcess } from "../support/troupe-process.ts";

interface Worker {
  process: TroupeProcess;
  id: string;
  http: string;
}

/** A troupe process on `natsUrl`; resolves once it has started, with its worker id. */
async function startWorker(natsUrl: string, env: Record<string, string>): Promise<Worker> {
  const process = spawnTroupe({
    env: {
      NATS_URL: natsUrl,
      PORT: "0",
      // Placement reads the records heartbeats write: on a loaded machine a shorter heartbeat
      // would make live workers read stale now and then.
      HEARTBEAT_INTERVAL: "1s",
      // Far off: a killed worker must stop counting because it is stale, not because it is gone.
      WORKER_TIMEOUT: "60s",
      ...env,
    },
  });
  const started = await process.waitForLog("troupe started", 60_000);
  return { process, id: String(started.workerId), http: String(started.http) };
}

async function availability(client: ApiClient): Promise<ResourceAvailability> {
  return (await client.request<ResourceAvailability>("troupe.resources.availability", {})).body;
}

/** Until `workerId` is seen to hold `cores` cores (its record rewritten after a task change). */
async function untilHolding(client: ApiClient, workerId: string, cores: number): Promise<void> {
  await eventually(async () => {
    const worker = (await availability(client)).workers.find((w) => w.worker_id === workerId);
    return worker?.allocated.cpu_cores === cores;
  }, `${workerId} holds ${cores} cores`);
}

/** The workers the job's tasks started on. */
function workersOf(seen: TaskEvents, jobId: string): Set<string> {
  return new Set(
    seen.events.filter((e) => e.job_id === jobId && e.status === "RUNNING").map((e) => e.worker_id),
  );
}

/** Resolves with the worker the job's next task starts on (counting from `after` events). */
async function startedOn(seen: TaskEvents, jobId: string, after = 0): Promise<string> {
  const running = (events: readonly TaskEventSeen[]) =>
    events.slice(after).find((e) => e.job_id === jobId && e.status === "RUNNING");
  await seen.until((events) => running(events) !== undefined);
  return (running(seen.events) as TaskEventSeen).worker_id;
}

const twoCoreLong = () => longSpec({ tasks: 1, resources: { cpu_cores: 2 } });

function unschedulableOf(job: Job): string | undefined {
  return (job as Job & { unschedulable?: string }).unschedulable;
}

/**
 * One nats-server, and workers joining and leaving in phases: a 1-slot GPU worker, a 3-slot and a
 * 2-slot one (least_loaded); then a 4-slot and a 2-slot one serving neural_network and svm
 * (best_fit, MAX_UNSCHEDULABLE) join, and the first three leave.
 */
describe("placement across real processes", () => {
  let natsUrl: string;
  let client: ApiClient;
  let seen: TaskEvents;
  let gpu: Worker;
  let three: Worker;
  let two: Worker;
  let four: Worker;
  let picky: Worker;

  beforeAll(async () => {
    natsUrl = (await startNats()).url;
    // One task a chunk: each task's worker is its own.
    const env = { CHUNK_TARGET: "0ms" };
    [gpu, three, two] = await Promise.all([
      startWorker(natsUrl, { ...env, MAX_CONCURRENT_TASKS: "1", WORKER_GPUS: "1" }),
      startWorker(natsUrl, { ...env, MAX_CONCURRENT_TASKS: "3" }),
      startWorker(natsUrl, { ...env, MAX_CONCURRENT_TASKS: "2" }),
    ]);
    client = await apiClient(natsUrl);
    seen = collectTaskEvents(client);
  }, 90_000);

  it("runs a GPU job only on the GPU worker, and 2-core tasks never on the 1-slot worker", async () => {
    const gpuJob = await submit(client, quickSpec({ tasks: 4, resources: { gpu_count: 1 } }));
    const twoCoreJob = await submit(client, quickSpec({ tasks: 6, resources: { cpu_cores: 2 } }));
    expect((await waitForJob(client, gpuJob)).status).toBe("COMPLETED");
    expect((await waitForJob(client, twoCoreJob)).status).toBe("COMPLETED");
    expect(workersOf(seen, gpuJob)).toEqual(new Set([gpu.id]));
    expect(workersOf(seen, twoCoreJob).has(gpu.id)).toBe(false);
    expect(workersOf(seen, twoCoreJob).size).toBeGreaterThan(0);
  });

  it("spreads 2-core tasks by load (least_loaded), and a 2-core task holds 2 slots: a third one waits", async () => {
    // The policy judges by the records: wait until they say the last test's tasks are gone.
    for (const worker of [gpu, three, two]) await untilHolding(client, worker.id, 0);
    const a = await submit(client, twoCoreLong());
    // Equal loads: the one with more cores free.
    expect(await startedOn(seen, a)).toBe(three.id);
    await untilHolding(client, three.id, 2);
    const b = await submit(client, twoCoreLong());
    expect(await startedOn(seen, b)).toBe(two.id); // load 0 < 2/3
    await untilHolding(client, two.id, 2);

    // 1 slot free on the GPU worker and the 3-slot one, none on the 2-slot one: no worker has 2.
    const c = await submit(client, twoCoreLong());
    await waitForJob(client, c, 30_000, (job) => job.status === "QUEUED");
    const before = (await availability(client)).cluster;
    expect(before.free.cpu_cores).toBe(2);
    expect(before.allocated.cpu_cores).toBe(4);
    const cancelledAt = seen.events.length;
    await client.request("troupe.jobs.cancel", { job_id: a });
    expect(await startedOn(seen, c, cancelledAt)).toBe(three.id);
    expect(workersOf(seen, c)).toEqual(new Set([three.id])); // it had not started before
    await client.request("troupe.jobs.cancel", { job_id: c });
    await untilHolding(client, three.id, 0);

    // kill -9 of the worker holding b's 2-core task: it runs elsewhere, and the availability
    // route shows the truth again once the dead worker reads stale (two heartbeats).
    const killedAt = seen.events.length;
    two.process.signal("SIGKILL");
    await two.process.exited;
    expect(await startedOn(seen, b, killedAt)).toBe(three.id);
    await eventually(async () => {
      const now = await availability(client);
      return (
        !now.workers.some((w) => w.worker_id === two.id) &&
        now.cluster.allocated.cpu_cores === 2 &&
        now.workers.find((w) => w.worker_id === three.id)?.allocated.cpu_cores === 2
      );
    }, "the availability shows b's task on the survivor and nothing of the dead worker");
    // The HTTP door answers the same.
    const http = (await (
      await fetch(`${three.http}/api/v1/resources/availability`)
    ).json()) as ResourceAvailability;
    expect(http.cluster).toMatchObject({
      workers: 2,
      total: { cpu_cores: 4, gpu_count: 1 },
      allocated: { cpu_cores: 2, gpu_count: 0 },
      free: { cpu_cores: 2, gpu_count: 1 },
    });
    await client.request("troupe.jobs.cancel", { job_id: b });
  });

  it("answers a bad availability request with an error naming the field, and stays up", async () => {
    const bad = await client.request<{ error: { code: string; message: string } }>(
      "troupe.resources.availability",
      { worker: "x" },
    );
    expect(bad.serviceErrorCode).toBe("400");
    expect(bad.body.error.message).toContain("/worker");
    expect((await availability(client)).cluster.workers).toBe(2);
  });

  it("keeps a job no worker fits queued with its reason, and runs it once a fitting worker starts", async () => {
    const big = await submit(client, quickSpec({ tasks: 1, resources: { cpu_cores: 4 } }));
    const shown = await waitForJob(client, big, 30_000, (job) => Boolean(unschedulableOf(job)));
    expect(shown.status).toBe("QUEUED");
    expect(unschedulableOf(shown)).toBe("needs cpu_cores 4; the largest worker has 3");
    // The best_fit workers of the next tests join: the 4-slot one fits.
    const env = { PLACEMENT: "best_fit", MAX_UNSCHEDULABLE: "2s", CHUNK_TARGET: "0ms" };
    [four, picky] = await Promise.all([
      startWorker(natsUrl, { ...env, MAX_CONCURRENT_TASKS: "4", WORKER_MEMORY_GB: "3" }),
      startWorker(natsUrl, {
        ...env,
        MAX_CONCURRENT_TASKS: "2",
        WORKER_SERVICES: "neural_network,svm",
      }),
    ]);
    const done = await waitForJob(client, big);
    expect(done.status).toBe("COMPLETED");
    expect(unschedulableOf(done)).toBeUndefined();
    expect(workersOf(seen, big)).toEqual(new Set([four.id]));
    // The first workers leave (SIGTERM: at once from the lists), the best_fit ones stay.
    for (const worker of [gpu, three]) worker.process.signal("SIGTERM");
    await Promise.all([gpu.process.exited, three.process.exited]);
  }, 90_000);

  it("fills the 2-core worker first with 2-core tasks (best_fit)", async () => {
    for (const worker of [four, picky]) await untilHolding(client, worker.id, 0);
    const jobs: string[] = [];
    const on: string[] = [];
    for (const [worker, cores] of [
      [picky.id, 2],
      [four.id, 2],
      [four.id, 4],
    ] as const) {
      const job = await submit(client, twoCoreLong());
      jobs.push(job);
      on.push(await startedOn(seen, job));
      await untilHolding(client, worker, cores);
    }
    expect(on).toEqual([picky.id, four.id, four.id]);
    for (const job of jobs) await client.request("troupe.jobs.cancel", { job_id: job });
  });

  it("holds the memory a task asks for: a second 2 GB task waits on a 3 GB worker with slots free", async () => {
    await untilHolding(client, four.id, 0);
    // A service only the 4-slot worker serves.
    const twoGb = () => longSpec({ tasks: 1, service: "lr", resources: { memory_gb: 2 } });
    const first = await submit(client, twoGb());
    expect(await startedOn(seen, first)).toBe(four.id);
    await untilHolding(client, four.id, 1);
    const second = await submit(client, twoGb());
    await waitForJob(client, second, 30_000, (job) => job.status === "QUEUED");
    const held = (await availability(client)).workers.find((w) => w.worker_id === four.id);
    expect(held).toMatchObject({
      allocated: { cpu_cores: 1, memory_gb: 2 },
      free: { cpu_cores: 3, memory_gb: 1 },
    });
    const cancelledAt = seen.events.length;
    await client.request("troupe.jobs.cancel", { job_id: first });
    expect(await startedOn(seen, second, cancelledAt)).toBe(four.id);
    expect(workersOf(seen, second)).toEqual(new Set([four.id])); // it had not started before
    await client.request("troupe.jobs.cancel", { job_id: second });
  });

  it("never runs a service on a worker that does not serve it, over 200 tasks", async () => {
    const models = ["neural_network", "svm", "logistic_regression", "random_forest"] as const;
    const serviceOf = new Map<string, string>();
    for (let i = 0; i < 8; i++) {
      const model = models[i % models.length] as string;
      const job = await submit(
        client,
        quickSpec({
          model_type: model,
          tasks: 25,
          epochs: 1,
          dataset: { samples: 400, features: 4, seed: i },
        }),
      );
      serviceOf.set(job, model);
    }
    for (const job of serviceOf.keys()) {
      expect((await waitForJob(client, job)).status).toBe("COMPLETED");
    }
    const ran = seen.events.filter((e) => serviceOf.has(e.job_id) && e.status === "COMPLETED");
    expect(new Set(ran.map((e) => `${e.job_id}.${e.task_index}`)).size).toBe(200);
    const onPicky = ran.filter((e) => e.worker_id === picky.id);
    expect(onPicky.length).toBeGreaterThan(0);
    for (const event of onPicky) {
      expect(["neural_network", "svm"]).toContain(serviceOf.get(event.job_id));
    }
  });

  it("fails a job unschedulable for MAX_UNSCHEDULABLE with the reason", async () => {
    const seenReasons = new Map<string, string[]>();
    // Subscribed before the submit: the first reason is announced on the job's first tick.
    const sub = client.nc.subscribe("troupe.events.job.*", {
      callback: (_error, msg) => {
        const event = msg.json() as { job_id: string; unschedulable?: string };
        if (event.unschedulable)
          seenReasons.set(event.job_id, [
            ...(seenReasons.get(event.job_id) ?? []),
            event.unschedulable,
          ]);
      },
    });
    const gpuJob = await submit(client, quickSpec({ resources: { gpu_count: 1 } }));
    const failed = await waitForJob(client, gpuJob);
    sub.unsubscribe();
    expect(failed.status).toBe("FAILED");
    expect(failed.error).toBe(
      "unschedulable for MAX_UNSCHEDULABLE: needs gpu_count 1; the largest worker has 0",
    );
    expect(seenReasons.get(gpuJob)).toContain("needs gpu_count 1; the largest worker has 0");
  });
});
