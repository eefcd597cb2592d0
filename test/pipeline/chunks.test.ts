import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.ts";
import { loadConfig } from "../../src/config.ts";
import { serveApi } from "../../src/nats-api/endpoints.ts";
import { Pipeline } from "../../src/pipeline.ts";
import { createTrainingPool, type TrainingPool } from "../../src/training/pool.ts";
import { connectNats } from "../../src/transport/connection.ts";
import { apiClient } from "../support/api-client.ts";
import {
  collectTaskEvents,
  type Job,
  longSpec,
  submit,
  type TaskEventSeen,
  waitForJob,
} from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";
import { chunkRecords } from "../support/results.ts";
import { startTroupes } from "../support/troupe-process.ts";

const silent = pino({ level: "silent" });

/** Tiny tasks: ~10-row shards of a 2-feature dataset, one epoch. */
function tinySpec(tasks: number, overrides: Record<string, unknown> = {}) {
  return {
    model_type: "logistic_regression",
    dataset: { samples: Math.max(50, Math.ceil((tasks * 10) / 0.8) + tasks), features: 2 },
    epochs: 1,
    tasks,
    ...overrides,
  };
}

/**
 * The real pool, but the task at `index` fails its first attempt with a training error, as a task
 * whose numbers diverged would: the wrapper changes that one result, the training itself runs.
 */
function failingOnce(pool: TrainingPool, index: number) {
  const runs: number[][] = [];
  let failed = false;
  const wrapped: TrainingPool = Object.assign(Object.create(pool) as TrainingPool, {
    runChunk: async (...args: Parameters<TrainingPool["runChunk"]>) => {
      const [input] = args;
      runs.push(input.tasks.map((task) => task.task_index));
      const run = await pool.runChunk(...args);
      const position = input.tasks.findIndex((task) => task.task_index === index);
      if (!failed && position >= 0) {
        failed = true;
        run.results[position] = {
          ok: false,
          error: { code: "TROUPE_ERR_TRAINING_FAILED", message: "loss diverged (injected)" },
        };
      }
      return run;
    },
  });
  return { pool: wrapped, runs };
}

describe("a chunk of tasks", () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
  });

  it("retries only its failed 3rd of 16 tasks; the other 15 results stand", async () => {
    const nats = await startNats();
    const config = loadConfig({
      NATS_URL: nats.url,
      MAX_CONCURRENT_TASKS: "1",
      CHUNK_TARGET: "10s",
    });
    const nc = await connectNats({ servers: [nats.url], name: "chunk-test", log: silent });
    const { pool, runs } = failingOnce(createTrainingPool({ threads: 1 }), 2);
    const pipeline = await Pipeline.start({ nc, config, clock: systemClock, log: silent, pool });
    const { names, gateway } = pipeline;
    const api = await serveApi({ nc, names, gateway, version: "0.1.0", log: silent });
    closers.push(
      () => nc.close(),
      () => pipeline.close(),
      () => api.stop(),
    );
    await nc.flush(); // the server has the API's subscriptions before the client asks
    const client = await apiClient(nats.url);

    const jobId = await submit(client, tinySpec(16, { retry_policy: { backoff_ms: 10 } }));
    const job = await waitForJob(client, jobId);
    expect(job.status).toBe("COMPLETED");
    expect(job.chunk_size).toBe(16);
    expect(job.retries).toBe(1);
    expect(runs).toEqual([Array.from({ length: 16 }, (_, i) => i), [2]]);

    const records = await chunkRecords(client.nc);
    const [first, second] = records;
    expect(records).toHaveLength(2);
    expect(Object.keys(first?.outcomes ?? {})).toHaveLength(15);
    expect(first?.retry).toEqual([
      { task_index: 2, attempts: 1, error: "loss diverged (injected)" },
    ]);
    expect(second?.outcomes[2]).toMatchObject({ status: "COMPLETED", attempt: 2 });
  });

  it("runs a job of one long task as a chunk of one, reporting on the task's own subject", async () => {
    const nats = await startNats();
    await startTroupes(1, nats.url, { MAX_CONCURRENT_TASKS: "1" });
    const client = await apiClient(nats.url);
    const seen = collectTaskEvents(client);
    const jobId = await submit(client, longSpec({ tasks: 1, epochs: 20 }));
    const job = await waitForJob(client, jobId);
    expect(job.status).toBe("COMPLETED");
    expect(job.chunk_size).toBe(1);
    const mine = seen.events.filter((e) => e.job_id === jobId);
    expect(mine.map((e) => e.status)).toEqual(["RUNNING", "COMPLETED"]);
    expect(mine.every((e) => e.chunk === undefined)).toBe(true); // task events, no chunk events
    expect(await chunkRecords(client.nc)).toHaveLength(1);
  });

  it("stops within one task when its job is cancelled: the tasks after it never train", async () => {
    const nats = await startNats();
    await startTroupes(1, nats.url, { MAX_CONCURRENT_TASKS: "1", CHUNK_TARGET: "10s" });
    const client = await apiClient(nats.url);
    const progress: TaskEventSeen[] = [];
    client.nc.subscribe("troupe.events.chunk.>", {
      callback: (_error, msg) => {
        const event = JSON.parse(new TextDecoder().decode(msg.data)) as { tasks: TaskEventSeen[] };
        for (const task of event.tasks) if (task.epoch !== undefined) progress.push(task);
      },
    });
    // Four tasks of a second or more each, in one chunk.
    const spec = longSpec({ tasks: 4, epochs: 60 });
    const seen = collectTaskEvents(client);
    const jobId = await submit(client, spec);
    await seen.until(() => progress.length > 0);
    await client.request("troupe.jobs.cancel", { job_id: jobId });
    expect((await waitForJob(client, jobId)).status).toBe("CANCELLED");
    await seen.until((events) =>
      events.some((e) => e.job_id === jobId && e.status === "CANCELLED"),
    );

    const job = await client.request<Job>("troupe.jobs.get", { job_id: jobId });
    expect(job.body.chunk_size).toBe(4);
    expect(new Set(progress.map((p) => p.task_index))).toEqual(new Set([0]));
    const cancelled = seen.events.filter((e) => e.job_id === jobId && e.status === "CANCELLED");
    expect(cancelled.map((e) => e.task_index).sort()).toEqual([0, 1, 2, 3]);
    expect(await chunkRecords(client.nc)).toHaveLength(0);
  });

  it("after a kill -9 mid-chunk, re-runs only the tasks no record holds, each recorded once", async () => {
    const nats = await startNats();
    const env = { MAX_CONCURRENT_TASKS: "1", CHUNK_TARGET: "400ms", HEARTBEAT_INTERVAL: "500ms" };
    const [victim] = await startTroupes(1, nats.url, env);
    if (!victim) throw new Error("no troupe");
    const client = await apiClient(nats.url);
    const seen = collectTaskEvents(client);
    const spec = {
      model_type: "neural_network",
      dataset: { samples: 20_000, features: 20, seed: 2 },
      epochs: 2,
      tasks: 40,
    };
    const jobId = await submit(client, spec);
    // A chunk has been recorded and the next one is running on the victim: kill it there.
    await seen.until((events) => {
      const done = events.filter((e) => e.job_id === jobId && e.status === "COMPLETED");
      const running = events.filter((e) => e.job_id === jobId && e.status === "RUNNING");
      return done.length > 0 && running.some((e) => e.chunk !== done[0]?.chunk);
    });
    victim.signal("SIGKILL");
    await victim.exited;
    const recordedAtKill = new Set(
      (await chunkRecords(client.nc)).flatMap((r) => Object.keys(r.outcomes).map(Number)),
    );
    const before = seen.events.length;
    await startTroupes(1, nats.url, env);
    const job = await waitForJob(client, jobId);
    expect(job.status).toBe("COMPLETED");

    const job2 = await client.request<Job>("troupe.jobs.get", { job_id: jobId });
    expect(job2.body.chunk_size).toBeGreaterThan(1);
    expect(recordedAtKill.size).toBeGreaterThan(0);
    const rerun = new Set(
      seen.events
        .slice(before)
        .filter((e) => e.job_id === jobId && e.status === "RUNNING")
        .map((e) => e.task_index),
    );
    const unrecorded = Array.from({ length: 40 }, (_, i) => i).filter(
      (i) => !recordedAtKill.has(i),
    );
    expect([...rerun].sort((a, b) => a - b)).toEqual(unrecorded);
    const outcomes = (await chunkRecords(client.nc)).flatMap((r) => Object.values(r.outcomes));
    expect(outcomes).toHaveLength(40);
    expect(outcomes.every((o) => o.status === "COMPLETED" && o.attempt === 1)).toBe(true);
  }, 60_000); // two process starts and a lease expiry: slow on a loaded machine

  it("starts an urgent job behind 1,000 queued tiny low tasks within one chunk per slot", async () => {
    const nats = await startNats();
    const slots = 2;
    await startTroupes(1, nats.url, { MAX_CONCURRENT_TASKS: String(slots), CHUNK_TARGET: "20ms" });
    const client = await apiClient(nats.url);
    const seen = collectTaskEvents(client);
    const low: string[] = [];
    for (let i = 0; i < 10; i++) {
      low.push(
        await submit(
          client,
          tinySpec(100, { priority: "low", dataset: { samples: 20_000, features: 8 } }),
        ),
      );
    }
    await seen.until((events) =>
      events.some((e) => low.includes(e.job_id) && e.status === "RUNNING"),
    );
    // Where each job's QUEUED event fell among the task events seen.
    // The doorbell rings as soon as the tasks are enqueued, so the urgent job's first RUNNING may
    // arrive before its QUEUED event: wait for both.
    const queuedAt = new Map<string, number>();
    let urgentQueued = (): void => undefined;
    const queuedSeen = new Promise<void>((resolve) => (urgentQueued = resolve));
    client.nc.subscribe("troupe.events.job.>", {
      callback: (_error, msg) => {
        const event = JSON.parse(new TextDecoder().decode(msg.data)) as Job;
        if (event.status !== "QUEUED") return;
        queuedAt.set(event.job_id, seen.events.length);
        if (low.includes(event.job_id)) return;
        urgentQueued(); // the only other job is the urgent one
      },
    });
    await client.nc.flush();
    const urgent = await submit(client, tinySpec(4, { priority: "urgent" }));
    await seen.until((events) => events.some((e) => e.job_id === urgent && e.status === "RUNNING"));
    await queuedSeen;
    const startedAt = seen.events.findIndex((e) => e.job_id === urgent && e.status === "RUNNING");
    const from = Math.min(queuedAt.get(urgent) ?? startedAt, startedAt);
    // Chunks of low tasks that started once the urgent job was queued and before it started: at
    // most the one each slot may have been pulling as the urgent chunk arrived.
    const lowChunks = new Set(
      seen.events
        .slice(from, startedAt)
        .filter((e) => low.includes(e.job_id) && e.status === "RUNNING")
        .map((e) => `${e.job_id}.${e.chunk}`),
    );
    expect(lowChunks.size).toBeLessThanOrEqual(slots);
    const pending = await Promise.all(low.map((id) => waitForJob(client, id)));
    expect(pending.every((job) => job.status === "COMPLETED")).toBe(true);
    expect((await waitForJob(client, urgent)).status).toBe("COMPLETED");
  });
});
