import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { NO_FAULTS } from "../../src/faults.ts";
import { parseJobSpec, trainingSpecOf } from "../../src/jobs/job-spec.ts";
import { PipelineEvents } from "../../src/pipeline-events.ts";
import { createTrainingPool, type TrainingPool } from "../../src/training/pool.ts";
import {
  type ChunkMessage,
  type ChunkRecord,
  decodeRecord,
  encodeChunk,
  encodeRecord,
} from "../../src/workers/chunk-message.ts";
import { ChunkRunner } from "../../src/workers/chunk-runner.ts";
import { JobAborts } from "../../src/workers/job-aborts.ts";
import { settle } from "../actors/helpers.ts";
import { memoryPorts } from "../support/memory-ports.ts";
import { SimulatedClock } from "../support/simulated-clock.ts";

const silent = pino({ level: "silent" });
const JOB = "job_0000000000000000002";
const realPool = createTrainingPool({ threads: 1 });
afterAll(() => realPool.close({ force: true }));

/** The real pool, recording which tasks each post ran; the tasks in `failOnce` fail their first run. */
function pool(failOnce: number[] = []) {
  const posts: number[][] = [];
  const failed = new Set<number>();
  const wrapped: TrainingPool = Object.assign(Object.create(realPool) as TrainingPool, {
    runChunk: async (...args: Parameters<TrainingPool["runChunk"]>) => {
      const [input] = args;
      posts.push(input.tasks.map((task) => task.task_index));
      const run = await realPool.runChunk(...args);
      input.tasks.forEach(({ task_index }, position) => {
        if (!failOnce.includes(task_index) || failed.has(task_index)) return;
        failed.add(task_index);
        run.results[position] = {
          ok: false,
          error: { code: "TROUPE_ERR_TRAINING_FAILED", message: "loss diverged (injected)" },
        };
      });
      return run;
    },
  });
  return { pool: wrapped, posts };
}

function chunkOf(tasks: number[]): ChunkMessage {
  const spec = parseJobSpec(
    {
      model_type: "logistic_regression",
      dataset: { samples: 2_000, features: 2 },
      epochs: 1,
      tasks: 16,
      retry_policy: { max_attempts: 3, backoff_ms: 40 },
    },
    { maxAttempts: 3 },
  );
  return {
    job_id: JOB,
    chunk: 0,
    tasks,
    priority: "normal",
    user_id: "alice",
    spec: trainingSpecOf(spec),
    max_attempts: 3,
    backoff_ms: 40,
  };
}

function setUp(failOnce: number[] = []) {
  const clock = new SimulatedClock();
  const ports = memoryPorts((fn, ms) => clock.schedule(fn, ms));
  const { pool: wrapped, posts } = pool(failOnce);
  const aborts = new JobAborts(ports.signals);
  const runner = new ChunkRunner({
    results: ports.results,
    checkpoints: ports.checkpoints,
    counts: ports.counts,
    pool: wrapped,
    events: ports.events,
    pipeline: new PipelineEvents(),
    registry: { workerId: "w-1", taskStarted: () => undefined, taskEnded: () => undefined },
    aborts,
    quota: undefined,
    renewEveryMs: 1_000,
    taskTimeoutMs: 60_000,
    handBack: new AbortController().signal,
    faults: NO_FAULTS,
    clock,
    log: silent,
  });
  const stopping = new AbortController().signal;
  /** Pulls the chunk's next delivery and runs it; returns it, settled. */
  const runNext = async () => {
    const delivery = ports.queue.pull("normal");
    if (!delivery) throw new Error("nothing queued");
    await runner.run(delivery, stopping);
    return delivery;
  };
  const records = async () =>
    [...ports.results.bucket.entries.values()].map((entry) => decodeRecord(entry.value));
  return { clock, ports, posts, aborts, runner, runNext, records };
}

const sixteen = Array.from({ length: 16 }, (_, i) => i);

describe("the chunk runner, on in-memory ports and the real pool", () => {
  it("records 15 of 16 tasks and retries only the failed 3rd, after its back-off, as generation 1", async () => {
    const { clock, ports, posts, runNext, records } = setUp([2]);
    await ports.queue.enqueue("normal", JOB, [{ id: "c0", data: encodeChunk(chunkOf(sixteen)) }]);
    const first = await runNext();
    const [gen0] = await records();
    expect(Object.keys(gen0?.outcomes ?? {})).toHaveLength(15);
    expect(gen0?.retry).toEqual([
      { task_index: 2, attempts: 1, error: "loss diverged (injected)" },
    ]);
    expect(first.settled).toBe(`nak ${gen0?.delay_ms}`);
    expect(ports.queue.size).toBe(0); // back only once its back-off has passed
    clock.advance(gen0?.delay_ms ?? 0);
    expect(ports.queue.size).toBe(1);

    const second = await runNext();
    expect(second.settled).toBe("ack");
    expect(posts).toEqual([sixteen, [2]]);
    const gen1 = (await records())[1];
    expect(gen1?.generation).toBe(1);
    expect(gen1?.outcomes).toMatchObject({ 2: { status: "COMPLETED", attempt: 2 } });
    expect(Object.keys(gen1?.outcomes ?? {})).toEqual(["2"]);
  });

  it("acks a redelivered chunk whose last record left nothing to retry, without training", async () => {
    const { ports, posts, runNext } = setUp();
    const message = chunkOf([0, 1]);
    await ports.queue.enqueue("normal", JOB, [{ id: "c0", data: encodeChunk(message) }]);
    const lost = ports.queue.pull("normal");
    lost?.nak(0); // its run recorded, then its ack was lost: it comes back
    await ports.results.create(JOB, 0, 0, encodeRecord(doneRecord([0, 1])));
    const again = await runNext();
    expect(again.deliveryCount).toBe(2);
    expect(again.settled).toBe("ack");
    expect(posts).toEqual([]);
  });

  it("acts on the record that stands when another run of the chunk recorded first", async () => {
    const { ports, runNext, records } = setUp([1]);
    await ports.queue.enqueue("normal", JOB, [{ id: "c0", data: encodeChunk(chunkOf([0, 1])) }]);
    // A run elsewhere (its lease lapsed under it) wrote generation 0 with both tasks done.
    await ports.results.create(JOB, 0, 0, encodeRecord(doneRecord([0, 1])));
    const delivery = await runNext();
    expect(delivery.settled).toBe("ack"); // not a nak for this run's failed task 1
    expect(await records()).toHaveLength(1);
    const told = ports.events.chunks.flatMap((event) => event.tasks);
    expect(told.filter((task) => task.status !== "RUNNING").map((task) => task.status)).toEqual([
      "COMPLETED",
      "COMPLETED",
    ]);
  });

  it("skips a chunk of a job that ended, acking it untrained", async () => {
    const { ports, posts, runNext, records } = setUp();
    await ports.queue.enqueue("normal", JOB, [{ id: "c0", data: encodeChunk(chunkOf([0])) }]);
    ports.signals.abort(JOB);
    await settle();
    expect((await runNext()).settled).toBe("ack");
    expect(posts).toEqual([]);
    expect(await records()).toEqual([]);
  });

  it("hands a chunk back without spending an attempt, and counts a crash as one", async () => {
    const { ports, runner, runNext, posts, records } = setUp();
    await ports.queue.enqueue("normal", JOB, [{ id: "c0", data: encodeChunk(chunkOf([0, 1])) }]);
    const drained = ports.queue.pull("normal");
    if (!drained) throw new Error("nothing queued");
    await runner.handBack(drained, 0); // a draining process gives it back
    expect(drained.settled).toBe("nak 0");
    const crashed = ports.queue.pull("normal");
    if (!crashed) throw new Error("nothing queued");
    await runner.countFailure(crashed); // its worker actor crashed running it
    crashed.nak(0);
    const third = await runNext();
    expect(third.deliveryCount).toBe(3);
    expect(posts).toEqual([[0, 1]]);
    const [record] = await records();
    // The crash spent one attempt of each task; the hand-back none.
    expect(record?.outcomes).toMatchObject({ 0: { attempt: 2 }, 1: { attempt: 2 } });
    const queued = ports.events.chunks.flatMap((e) => e.tasks).filter((t) => t.status === "QUEUED");
    expect(queued.map((t) => t.reason)).toEqual([
      "handed back: worker draining",
      "handed back: worker draining",
    ]);
  });
});

function doneRecord(tasks: number[]): ChunkRecord {
  return {
    generation: 0,
    worker_id: "elsewhere",
    outcomes: Object.fromEntries(
      tasks.map((task) => [
        task,
        {
          status: "COMPLETED" as const,
          attempt: 1,
          worker_id: "elsewhere",
          finished_at: new Date(0).toISOString(),
          duration_ms: 1,
          metrics: { loss: 0.1, accuracy: 0.9, heldout_loss: 0.1, train_samples: 10 },
          model: null,
          error: null,
        },
      ]),
    ),
    retry: [],
    delay_ms: 0,
    isolate: false,
    duration_ms: 1,
    failures: 0,
    redelivered: false,
  };
}
