import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { type ActorSystem, createActorSystem } from "../../src/actors/actor-system.ts";
import { NO_FAULTS } from "../../src/faults.ts";
import { ChunkSizer } from "../../src/jobs/chunk-sizing.ts";
import { jobActor } from "../../src/jobs/job-actor.ts";
import { newJobRecord } from "../../src/jobs/job-record.ts";
import { parseJobSpec } from "../../src/jobs/job-spec.ts";
import type { JobState } from "../../src/jobs/job-state.ts";
import { JobStore } from "../../src/jobs/job-store.ts";
import { PipelineEvents } from "../../src/pipeline-events.ts";
import { QueueBook } from "../../src/queue/queue-book.ts";
import { settle } from "../actors/helpers.ts";
import { type MemoryTaskQueue, memoryPorts } from "../support/memory-ports.ts";
import { SimulatedClock } from "../support/simulated-clock.ts";

const TICK_MS = 500;
const UPSTREAM = "job_0000000000000000001";
const JOB = "job_0000000000000000002";
const spec = (extra: Record<string, unknown> = {}) =>
  parseJobSpec(
    {
      model_type: "logistic_regression",
      dataset: { samples: 500, features: 2 },
      tasks: 2,
      ...extra,
    },
    { maxAttempts: 3 },
  );

/** Chunks of `jobId` waiting in the queue's lanes. */
function queued(queue: MemoryTaskQueue, jobId: string): number {
  return Object.values(queue.lanes).reduce(
    (sum, lane) => sum + lane.filter((q) => q.jobId === jobId).length,
    0,
  );
}

const systems: ActorSystem[] = [];
afterEach(async () => {
  for (const system of systems.splice(0)) await system.shutdown();
});

/** A job waiting on UPSTREAM, its actor on in-memory ports and a simulated clock. */
async function waitingJob() {
  const clock = new SimulatedClock(Date.parse("2026-12-03T12:00:00Z"));
  const system = createActorSystem({ clock });
  systems.push(system);
  const ports = memoryPorts((fn, ms) => clock.schedule(fn, ms));
  const store = new JobStore(ports.jobs);
  const now = new Date(clock.now());
  await store.create({ ...newJobRecord(UPSTREAM, spec(), now, 1), status: "RUNNING" });
  await store.create(newJobRecord(JOB, spec({ depends_on: [UPSTREAM] }), now, 1));
  system.spawn(
    jobActor(
      {
        ...ports,
        store,
        pool: { aggregate: () => Promise.reject(new Error("not in these tests")) },
        pipeline: new PipelineEvents(),
        queueBook: new QueueBook(clock),
        faults: NO_FAULTS,
        sizer: new ChunkSizer(50),
        tickMs: TICK_MS,
        log: pino({ level: "silent" }),
        onEnded: () => undefined,
      },
      JOB,
      { deliveryCount: 1, working() {}, ack() {}, nak() {} },
    ),
  );
  await settle();
  const upstreamEnds = async (status: JobState, announce: boolean) => {
    await store.update(UPSTREAM, (job) => ({ ...job, status }));
    const event = {
      job_id: UPSTREAM,
      status,
      completed_tasks: 0,
      failed_tasks: 0,
      total_tasks: 2,
      progress: 0,
      error: null,
    };
    if (announce) ports.events.job(event);
    await settle();
  };
  const job = async () => (await store.get(JOB))?.value;
  return { clock, ports, job, upstreamEnds };
}

describe("a job waiting on its dependencies, on in-memory ports", () => {
  it("is WAITING with nothing queued, then queued on its dependency's COMPLETED event, no tick needed", async () => {
    const w = await waitingJob();
    expect((await w.job())?.status).toBe("WAITING");
    expect(queued(w.ports.queue, JOB)).toBe(0);
    await w.upstreamEnds("COMPLETED", true);
    expect((await w.job())?.status).toBe("QUEUED");
    expect(queued(w.ports.queue, JOB)).toBeGreaterThan(0);
  });

  it("is queued at its next tick when the event was lost", async () => {
    const w = await waitingJob();
    await w.upstreamEnds("COMPLETED", false);
    expect((await w.job())?.status).toBe("WAITING");
    w.clock.advance(TICK_MS);
    await settle();
    expect((await w.job())?.status).toBe("QUEUED");
  });

  it("ends CANCELLED naming the dependency once it failed", async () => {
    const w = await waitingJob();
    await w.upstreamEnds("FAILED", true);
    expect(await w.job()).toMatchObject({
      status: "CANCELLED",
      error: `dependency ${UPSTREAM} ended FAILED`,
      started_at: null,
    });
  });
});
