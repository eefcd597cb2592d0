import { describe, expect, it } from "vitest";
import { limitsFor, waitsBehind } from "../../src/queue/admission.ts";
import { QueueBook } from "../../src/queue/queue-book.ts";
import { queueStatus } from "../../src/queue/queue-status.ts";
import type { QueueEntry } from "../../src/transport/ports.ts";
import { MemoryQueueIndex } from "../support/memory-ports.ts";
import { SimulatedClock } from "../support/simulated-clock.ts";

const entry = (job_id: string, fields: Partial<QueueEntry> = {}): QueueEntry => ({
  job_id,
  priority: "normal",
  user_id: "alice",
  service: "neural_network",
  status: "QUEUED",
  total_tasks: 10,
  chunk_size: 4,
  order: 0,
  ...fields,
});

describe("the queue book", () => {
  it("orders queued jobs by priority, then released before held, then order", () => {
    const book = new QueueBook(new SimulatedClock());
    book.apply("a", entry("a", { order: 3 }));
    book.apply("b", entry("b", { order: 1, held: "max_concurrent_jobs" }));
    book.apply("c", entry("c", { order: 2, priority: "high" }));
    book.apply("d", entry("d", { order: 1 }));
    book.apply("e", entry("e", { status: "RUNNING" }));
    expect(book.queued().map((e) => e.job_id)).toEqual(["c", "d", "a", "b"]);
    expect(book.position("a")).toBe(3);
    expect(book.position("e")).toBeUndefined();
    expect(book.positionOfNew("high")).toBe(2);
    expect(book.positionOfNew("low")).toBe(5);
    book.apply("c", undefined);
    expect(book.position("a")).toBe(2);
  });

  it("estimates a start from the recent rate of job starts, and none before a rate is known", () => {
    const clock = new SimulatedClock(0);
    const book = new QueueBook(clock);
    expect(book.estimatedStart(1)).toBeNull();
    for (const id of ["a", "b", "c"]) {
      book.apply(id, entry(id));
      clock.advance(2_000);
      book.apply(id, entry(id, { status: "RUNNING" })); // one start every 2 s
    }
    // Three starts 2 s apart: one every 2 s; the third in line starts in ~6 s.
    expect(Date.parse(book.estimatedStart(3) as string)).toBe(clock.now() + 6_000);
    clock.advance(200_000); // starts age out of the window
    expect(book.estimatedStart(3)).toBeNull();
  });

  it("follows a shared index, and starts over on a reset", async () => {
    const index = new MemoryQueueIndex();
    await index.put(entry("a"));
    const book = new QueueBook(new SimulatedClock());
    book.follow(index);
    await index.put(entry("b"));
    expect(book.queued().map((e) => e.job_id)).toEqual(["a", "b"]);
    await index.remove("a");
    expect(book.queued().map((e) => e.job_id)).toEqual(["b"]);
    book.close();
  });
});

describe("queue status", () => {
  it("counts a lane's tasks from its chunks and the job's chunk size, less those running", () => {
    const status = queueStatus({
      entries: [
        entry("job_a", { status: "RUNNING", total_tasks: 10, chunk_size: 4 }),
        entry("job_b", { priority: "high", total_tasks: 3, chunk_size: 1 }),
        entry("job_c", { held: "service_quota", order: 5 }),
        entry("job_p", { status: "PAUSED" }),
      ],
      backlog: {
        urgent: new Map(),
        high: new Map([["job_b", 3]]),
        // 3 chunks of 4 cover all 10 tasks (the last chunk has 2); 1 runs.
        normal: new Map([["job_a", 3]]),
        low: new Map(),
      },
      runningTasks: ["job_a.0", "job_x.1"],
      createdMs: (id) => (id === "job_b" ? 1_000 : 4_000),
      nowMs: 5_000,
    });
    expect(status).toEqual({
      queue_length: 2,
      running_jobs: 1,
      pending_jobs: 1,
      paused_jobs: 1,
      priority_queues: {
        urgent: { length: 0, avg_wait_time: 0 },
        high: { length: 1, avg_wait_time: 4 },
        normal: { length: 1, avg_wait_time: 1 },
        low: { length: 0, avg_wait_time: 0 },
      },
      queues: { urgent: 0, high: 3, normal: 9, low: 0 },
      pending: 12,
      running: 2,
    });
  });
});

describe("job-level quotas", () => {
  const limits = { maxConcurrentJobs: 2, servicePerUser: new Map([["neural_network", 1]]) };

  it("applies the service quota of the job's user and the cluster-wide cap", () => {
    expect(limitsFor(entry("a"), limits).map((l) => l.base)).toEqual([
      "_svc.neural_network.alice",
      "_run.jobs",
    ]);
    expect(
      limitsFor(entry("a", { service: "xgboost" }), { ...limits, maxConcurrentJobs: undefined }),
    ).toEqual([]);
  });

  it("waits behind an older held job only when it wants the same slot", () => {
    const mine = entry("mine", { order: 10 });
    const olderSameUser = entry("older", { order: 1, held: "service_quota" });
    const olderOtherUser = entry("other", { order: 1, held: "service_quota", user_id: "bob" });
    const olderCapped = entry("capped", { order: 1, held: "max_concurrent_jobs", user_id: "bob" });
    const younger = entry("young", { order: 20, held: "max_concurrent_jobs" });
    const urgent = entry("urgent", { order: 30, held: "max_concurrent_jobs", priority: "urgent" });
    expect(waitsBehind(mine, [olderSameUser], limits)).toBe(true);
    expect(waitsBehind(mine, [olderOtherUser], limits)).toBe(false);
    expect(waitsBehind(mine, [olderCapped], limits)).toBe(true);
    expect(waitsBehind(mine, [olderCapped], { ...limits, maxConcurrentJobs: undefined })).toBe(
      false,
    );
    expect(waitsBehind(mine, [younger], limits)).toBe(false);
    expect(waitsBehind(mine, [urgent], limits)).toBe(true);
  });
});
