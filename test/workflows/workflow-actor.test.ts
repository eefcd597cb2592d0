import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { type ActorSystem, createActorSystem } from "../../src/actors/actor-system.ts";
import type { JobRecord } from "../../src/jobs/job-record.ts";
import type { JobState } from "../../src/jobs/job-state.ts";
import type { Lease } from "../../src/transport/leases.ts";
import { workflowActor } from "../../src/workflows/workflow-actor.ts";
import type { WorkflowRecord } from "../../src/workflows/workflow-record.ts";
import { parseWorkflow } from "../../src/workflows/workflow-spec.ts";
import { WorkflowStore } from "../../src/workflows/workflow-store.ts";
import { settle } from "../actors/helpers.ts";
import { MemoryBucket, MemoryEvents } from "../support/memory-ports.ts";
import { SimulatedClock } from "../support/simulated-clock.ts";

const silent = pino({ level: "silent" });
const TICK_MS = 500;

/** Step jobs as the gateway would keep them: one per idempotency key, states set by the test. */
class FakeJobs {
  readonly byKey = new Map<string, string>();
  readonly records = new Map<string, Pick<JobRecord, "status" | "metrics" | "error">>();
  submissions = 0;
  readonly events = new MemoryEvents();

  async submit(body: Record<string, unknown>) {
    this.submissions += 1;
    const key = body.idempotency_key as string;
    let id = this.byKey.get(key);
    if (!id) {
      id = `job_${key.replace(/\W/g, "_")}`;
      this.byKey.set(key, id);
      this.records.set(id, {
        status: "SUBMITTED",
        metrics: { loss: null, accuracy: null },
        error: null,
      });
    }
    return { job_id: id, status: "SUBMITTED" };
  }

  async get(jobId: string) {
    const record = this.records.get(jobId);
    return record ? { value: record as JobRecord } : undefined;
  }

  /** The step's job reaches `status`; announced unless `silently`. */
  end(key: string, status: JobState, accuracy: number | null, silently = false) {
    const id = this.byKey.get(key) as string;
    this.records.set(id, { status, metrics: { loss: 0.1, accuracy }, error: null });
    if (!silently) {
      this.events.job({
        job_id: id,
        status,
        completed_tasks: 1,
        failed_tasks: 0,
        total_tasks: 1,
        progress: 1,
        error: null,
      });
    }
  }
}

const systems: ActorSystem[] = [];
afterEach(async () => {
  for (const system of systems.splice(0)) await system.shutdown();
});

/** A workflow actor driving `id` from `store`, on a simulated clock. */
function spawnDriver(id: string, jobs: FakeJobs, store: WorkflowStore, lease: Lease, pid: number) {
  const clock = new SimulatedClock(Date.parse("2026-12-03T12:00:00Z"));
  const system = createActorSystem({ clock });
  systems.push(system);
  system.spawn(
    workflowActor(
      {
        store,
        jobs,
        jobEvents: jobs.events.jobFeed,
        submit: (b) => jobs.submit(b),
        cancelJob: async () => undefined,
        events: { workflow: () => undefined },
        driver: { worker_id: `w${pid}`, pid },
        tickMs: TICK_MS,
        log: silent,
        onEnded: () => undefined,
      },
      id,
      lease,
    ),
  );
  return clock;
}

async function drive(
  body: unknown,
  jobs = new FakeJobs(),
  store = new WorkflowStore(new MemoryBucket()),
) {
  const record = await parseWorkflow(body, async () => [], new Date());
  await store.create(record);
  const seen: string[] = [];
  const lease: Lease = {
    deliveryCount: 1,
    working: () => undefined,
    ack: () => seen.push("ack"),
    nak: (ms) => seen.push(`nak ${ms}`),
  };
  const clock = spawnDriver(record.workflow_id, jobs, store, lease, 1);
  await settle();
  const workflow = async () => (await store.get(record.workflow_id)) as WorkflowRecord;
  return { id: record.workflow_id, clock, jobs, lease: seen, workflow, store };
}

const job = { model_type: "logistic_regression" };
const gated = (value: number) => ({
  workflow_name: "gated",
  steps: [
    { step_id: "a", job },
    {
      step_id: "b",
      job,
      depends_on: ["a"],
      condition: { step: "a", metric: "accuracy", op: ">=", value },
    },
  ],
});

describe("the workflow actor, on in-memory ports", () => {
  it("submits the root, decides the gated step on the root's metric once it completed, and ends", async () => {
    const wf = await drive(gated(0.8));
    expect((await wf.workflow()).steps.map((s) => s.status)).toEqual(["SUBMITTED", "PENDING"]);
    wf.jobs.end(`${wf.id}/a`, "COMPLETED", 0.9);
    await settle();
    expect((await wf.workflow()).steps.map((s) => s.status)).toEqual(["COMPLETED", "SUBMITTED"]);
    wf.jobs.end(`${wf.id}/b`, "COMPLETED", 0.5);
    await settle();
    expect(await wf.workflow()).toMatchObject({
      status: "COMPLETED",
      driver: { worker_id: "w1", pid: 1 },
    });
    expect(wf.lease).toEqual(["ack"]);
    expect(wf.jobs.submissions).toBe(2);
  });

  it("notices a step's end whose event was lost at its next reconcile tick", async () => {
    const wf = await drive(gated(0.95));
    wf.jobs.end(`${wf.id}/a`, "COMPLETED", 0.9, true);
    await settle();
    expect((await wf.workflow()).status).toBe("RUNNING");
    for (let i = 0; i < 2; i++) {
      wf.clock.advance(TICK_MS);
      await settle();
    }
    const done = await wf.workflow();
    expect(done.status).toBe("COMPLETED");
    expect(done.steps[1]).toMatchObject({ status: "SKIPPED", job_id: null });
  });

  it("taking over after a crash between a submit and its record, gets the same job back, not a second", async () => {
    const jobs = new FakeJobs();
    const store = new WorkflowStore(new MemoryBucket());
    const first = await drive(gated(0.8), jobs, store);
    // The driver died after submitting b's job, before recording it: b is PENDING in the record.
    jobs.end(`${first.id}/a`, "COMPLETED", 0.9, true);
    await jobs.submit({ idempotency_key: `${first.id}/b` });
    await store.update(first.id, (w) => ({
      ...w,
      steps: w.steps.map((s) =>
        s.step_id === "a"
          ? { ...s, status: "COMPLETED", metrics: { accuracy: 0.9, loss: 0.1 } }
          : s,
      ),
    }));
    await systems[0]?.shutdown();
    // The lease moves to another process: its driver reads the record and carries on.
    spawnDriver(first.id, jobs, store, { deliveryCount: 2, working() {}, ack() {}, nak() {} }, 2);
    await settle();
    expect(((await store.get(first.id)) as WorkflowRecord).steps[1]).toMatchObject({
      status: "SUBMITTED",
      job_id: jobs.byKey.get(`${first.id}/b`),
    });
    expect(jobs.byKey.size).toBe(2);
  });
});
