import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { type ActorSystem, createActorSystem } from "../../src/actors/actor-system.ts";
import { NO_FAULTS } from "../../src/faults.ts";
import { ChunkSizer } from "../../src/jobs/chunk-sizing.ts";
import { jobActor } from "../../src/jobs/job-actor.ts";
import { JobPause } from "../../src/jobs/job-pause.ts";
import { newJobRecord } from "../../src/jobs/job-record.ts";
import { parseJobSpec } from "../../src/jobs/job-spec.ts";
import { JobStore } from "../../src/jobs/job-store.ts";
import { PipelineEvents } from "../../src/pipeline-events.ts";
import { QueueBook } from "../../src/queue/queue-book.ts";
import type { Lease } from "../../src/transport/leases.ts";
import {
  type ChunkRecord,
  decodeChunk,
  encodeRecord,
  type TaskOutcome,
} from "../../src/workers/chunk-message.ts";
import { settle } from "../actors/helpers.ts";
import { memoryPorts } from "../support/memory-ports.ts";
import { SimulatedClock } from "../support/simulated-clock.ts";

const silent = pino({ level: "silent" });
const TICK_MS = 500;
const JOB = "job_0000000000000000001";

function lease() {
  const seen: string[] = [];
  const held: Lease & { seen: string[] } = {
    deliveryCount: 1,
    seen,
    working: () => undefined,
    ack: () => seen.push("ack"),
    nak: (delayMs) => seen.push(`nak ${delayMs}`),
  };
  return held;
}

function completed(attempt = 1): TaskOutcome {
  return {
    status: "COMPLETED",
    attempt,
    worker_id: "w",
    finished_at: new Date(0).toISOString(),
    duration_ms: 2,
    metrics: { loss: 0.5, accuracy: 0.75, heldout_loss: 0.5, train_samples: 10 },
    model: null,
    error: null,
  };
}

function recordOf(generation: number, outcomes: Record<number, TaskOutcome>): ChunkRecord {
  return {
    generation,
    worker_id: "w",
    outcomes,
    retry: [],
    delay_ms: 0,
    isolate: false,
    duration_ms: 5,
    failures: 0,
    redelivered: false,
  };
}

/** A job actor over in-memory ports on a simulated clock, its job stored and leased. */
async function startJob(spec: Record<string, unknown>, chunkSize: number) {
  const clock = new SimulatedClock(Date.parse("2026-12-03T12:00:00Z"));
  const system = createActorSystem({ clock });
  systems.push(system);
  const ports = memoryPorts((fn, ms) => clock.schedule(fn, ms));
  const store = new JobStore(ports.jobs);
  const parsed = parseJobSpec(spec, { maxAttempts: 3 });
  await store.create(newJobRecord(JOB, parsed, new Date(clock.now()), chunkSize));
  const held = lease();
  const ended: string[] = [];
  const actor = system.spawn(
    jobActor(
      {
        ...ports,
        store,
        pool: {
          aggregate: () => Promise.reject(new Error("no models to aggregate in these tests")),
        },
        pipeline: new PipelineEvents(),
        faults: NO_FAULTS,
        sizer: new ChunkSizer(50),
        tickMs: TICK_MS,
        queueBook: new QueueBook(clock),
        log: silent,
        onEnded: (id) => ended.push(id),
      },
      JOB,
      held,
    ),
  );
  await settle();
  const job = async () => (await store.get(JOB))?.value;
  /** A worker's record of a chunk generation, announced as a worker announces it. */
  const record = async (chunk: number, r: ChunkRecord, along = true) => {
    const bytes = encodeRecord(r);
    await ports.results.create(JOB, chunk, r.generation, bytes);
    ports.results.announce(JOB, chunk, r.generation, along ? bytes : undefined);
    await settle();
  };
  return { clock, ports, store, lease: held, ended, job, record, actor };
}

const systems: ActorSystem[] = [];
afterEach(async () => {
  for (const system of systems.splice(0)) await system.shutdown();
});

const tiny = (tasks: number, extra: Record<string, unknown> = {}) => ({
  model_type: "logistic_regression",
  dataset: { samples: 5_000, features: 2 },
  epochs: 1,
  tasks,
  ...extra,
});

describe("the job actor, on in-memory ports", () => {
  it("paused, keeps nothing queued; resumed, queues again only the chunks with tasks left, as redeliveries", async () => {
    const { clock, ports, store, job, record, actor } = await startJob(tiny(8), 2);
    const pauses = new JobPause({
      store,
      queue: ports.queue,
      signals: ports.signals,
      nudge: () => actor.tell({ kind: "nudge" }),
      clock,
    });
    await record(0, recordOf(0, { 0: completed(), 1: completed() }));
    await record(1, {
      ...recordOf(0, { 2: completed() }),
      retry: [{ task_index: 3, attempts: 0 }],
    });
    await pauses.pause({ job_id: JOB, reason: "urgent work" });
    await settle();
    expect(await job()).toMatchObject({ status: "PAUSED", tasks_enqueued: false });
    expect(ports.queue.size).toBe(0);
    expect(ports.signals.paused).toEqual([JOB]);
    expect(ports.book.entries.get(JOB)?.status).toBe("PAUSED");
    await expect(pauses.pause({ job_id: JOB })).rejects.toThrow(/it is PAUSED/);

    await pauses.resume({ job_id: JOB });
    await settle();
    const queued = ports.queue.lanes.normal.map(
      (q) => [q.chunk.id, decodeChunk(q.chunk.data)] as const,
    );
    expect(queued.map(([id, c]) => [id, c.tasks, c.resumed])).toEqual([
      [`${JOB}.1.r1`, [2, 3], 1],
      [`${JOB}.2.r1`, [4, 5], 1],
      [`${JOB}.3.r1`, [6, 7], 1],
    ]);
    // No task was seen RUNNING here (records only): back to QUEUED, where it was.
    expect(await job()).toMatchObject({ status: "QUEUED", tasks_enqueued: true, resumes: 1 });
    expect((await job())?.history?.map((h) => h.action)).toEqual(["pause", "resume"]);
  });

  it("queues its tasks once as chunks of the record's size, then says QUEUED", async () => {
    const { ports, job } = await startJob(tiny(10), 4);
    const queued = ports.queue.lanes.normal.map((q) => decodeChunk(q.chunk.data));
    expect(queued.map((c) => c.tasks)).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    expect(queued.every((c) => c.job_id === JOB && c.max_attempts === 3)).toBe(true);
    expect(ports.queue.rings).toBe(1);
    expect(await job()).toMatchObject({ status: "QUEUED", tasks_enqueued: true });
  });

  it("completes once every task is recorded, writing its record a few times a second however many records arrive", async () => {
    const { clock, ports, job, lease: held, ended, record } = await startJob(tiny(100), 1);
    const writesBefore = ports.jobs.writes;
    // 100 chunk records over one second.
    for (let chunk = 0; chunk < 100; chunk++) {
      await record(chunk, recordOf(0, { [chunk]: completed() }));
      clock.advance(10);
      await settle();
    }
    await settle();
    expect(await job()).toMatchObject({
      status: "COMPLETED",
      completed_tasks: 100,
      failed_tasks: 0,
      progress: 1,
      metrics: { loss: 0.5, accuracy: 0.75 },
    });
    // One flush per 100 ms at most, and the final write (and RUNNING on the way).
    expect(ports.jobs.writes - writesBefore).toBeLessThanOrEqual(13);
    expect(held.seen).toEqual(["ack"]);
    expect(ended).toEqual([JOB]);
  });

  it("counts a record that arrives twice once", async () => {
    const { ports, job, record } = await startJob(tiny(2), 2);
    await record(0, recordOf(0, { 0: completed() }));
    ports.results.announce(JOB, 0, 0); // the same announcement again
    await settle();
    await record(0, recordOf(1, { 1: completed(2) }));
    expect(await job()).toMatchObject({ status: "COMPLETED", completed_tasks: 2, retries: 1 });
    expect(ports.results.bucket.reads).toBe(0); // each record came with its announcement
  });

  it("reads a record announced without it (too large to travel along)", async () => {
    const { ports, job, record } = await startJob(tiny(1), 1);
    await record(0, recordOf(0, { 0: completed() }), false);
    expect(await job()).toMatchObject({ status: "COMPLETED", completed_tasks: 1 });
    expect(ports.results.bucket.reads).toBe(1);
  });

  it("fails the job on a task failed for good: its queued chunks purged, its running tasks aborted", async () => {
    const { ports, job, lease: held, record } = await startJob(tiny(8), 2);
    const failed: TaskOutcome = {
      ...completed(3),
      status: "FAILED",
      metrics: null,
      error: "loss diverged",
    };
    await record(1, recordOf(0, { 2: failed, 3: completed() }));
    expect(await job()).toMatchObject({
      status: "FAILED",
      error: "task 2 failed after 3 attempt(s): loss diverged",
      completed_tasks: 1,
      failed_tasks: 1,
    });
    expect(ports.queue.purged).toEqual([JOB]);
    expect(ports.queue.size).toBe(0);
    expect(ports.signals.aborted).toEqual([JOB]);
    expect(held.seen).toEqual(["ack"]);
  });

  it("finds records whose announcements were lost: after a gap at once, else within ten ticks", async () => {
    const first = await startJob(tiny(2), 1);
    first.ports.results.deaf = true;
    await first.record(0, recordOf(0, { 0: completed() }));
    await first.record(1, recordOf(0, { 1: completed() }));
    expect((await first.job())?.status).toBe("QUEUED");
    first.ports.results.gap();
    await settle();
    expect((await first.job())?.status).toBe("COMPLETED");

    const second = await startJob(tiny(1), 1);
    second.ports.results.deaf = true;
    await second.record(0, recordOf(0, { 0: completed() }));
    for (let tick = 0; tick < 11 && (await second.job())?.status !== "COMPLETED"; tick++) {
      second.clock.advance(TICK_MS);
      await settle();
    }
    expect((await second.job())?.status).toBe("COMPLETED");
  });

  it("ends TIMEOUT at timeout_s, purging and aborting its tasks", async () => {
    const { clock, ports, job, record } = await startJob(tiny(4, { timeout_s: 5 }), 1);
    await record(0, recordOf(0, { 0: completed() }));
    clock.advance(4_999);
    await settle();
    expect((await job())?.status).toBe("QUEUED");
    clock.advance(1);
    await settle();
    await settle();
    expect(await job()).toMatchObject({
      status: "TIMEOUT",
      error: "job exceeded timeout_s (5 s)",
      completed_tasks: 1,
    });
    expect(ports.queue.purged).toEqual([JOB]);
    expect(ports.signals.aborted).toEqual([JOB]);
  });

  it("tells RUNNING and retries from task events", async () => {
    const { clock, ports, job } = await startJob(tiny(2), 2);
    ports.events.chunk({
      job_id: JOB,
      chunk: 0,
      worker_id: "w",
      tasks: [
        { task_index: 0, status: "RUNNING", attempt: 1 },
        { task_index: 1, status: "RUNNING", attempt: 1 },
      ],
    });
    await settle();
    clock.advance(100);
    await settle();
    expect(await job()).toMatchObject({ status: "RUNNING", running_tasks: 2 });
    ports.events.chunk({
      job_id: JOB,
      chunk: 0,
      worker_id: "w",
      tasks: [{ task_index: 1, status: "RETRYING", attempt: 1, error: "boom" }],
    });
    await settle();
    clock.advance(100);
    await settle();
    expect(await job()).toMatchObject({ status: "RUNNING", running_tasks: 1, retries: 1 });
  });
});
