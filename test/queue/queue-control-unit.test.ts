import { describe, expect, it } from "vitest";
import { newJobRecord } from "../../src/jobs/job-record.ts";
import { parseJobSpec } from "../../src/jobs/job-spec.ts";
import { JobStore } from "../../src/jobs/job-store.ts";
import { QueueBook } from "../../src/queue/queue-book.ts";
import { QueueControl } from "../../src/queue/queue-control.ts";
import type { QueueEntry } from "../../src/transport/ports.ts";
import { memoryPorts } from "../support/memory-ports.ts";
import { SimulatedClock } from "../support/simulated-clock.ts";

/** Five queued one-chunk jobs in the normal lane, in order, over in-memory ports. */
async function fiveQueued() {
  const clock = new SimulatedClock(1_000_000);
  const ports = memoryPorts((fn, ms) => clock.schedule(fn, ms));
  const store = new JobStore(ports.jobs);
  const book = new QueueBook(clock);
  book.follow(ports.book);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const id = `job_00000000000000000${i}0`;
    const spec = parseJobSpec({ model_type: "logistic_regression", tasks: 1 }, { maxAttempts: 3 });
    await store.create({ ...newJobRecord(id, spec, new Date(clock.now()), 1), status: "QUEUED" });
    await ports.queue.enqueue("normal", id, [{ id: `${id}.0`, data: new Uint8Array([i]) }]);
    const entry: QueueEntry = {
      job_id: id,
      priority: "normal",
      user_id: "anonymous",
      service: "logistic_regression",
      status: "QUEUED",
      total_tasks: 1,
      chunk_size: 1,
      order: clock.now() + i,
    };
    await ports.book.put(entry);
    ids.push(id);
  }
  const control = new QueueControl({ store, queue: ports.queue, index: ports.book, book, clock });
  const lane = (priority: "normal" | "urgent") => ports.queue.lanes[priority].map((q) => q.jobId);
  return { ids, control, lane, book, store };
}

describe("reorder and priority change, on in-memory ports", () => {
  it("moves the last of five to the front by re-publishing it and every job after its new place", async () => {
    const { ids, control, lane, book } = await fiveQueued();
    const [a, b, c, d, e] = ids as [string, string, string, string, string];
    expect(await control.reorder({ job_id: e, new_position: 2 })).toMatchObject({
      position: 2,
      queue_position: 2,
    });
    expect(lane("normal")).toEqual([a, e, b, c, d]);
    expect(book.queued().map((x) => x.job_id)).toEqual([a, e, b, c, d]);
    await control.reorder({ job_id: d, new_position: 1 });
    expect(lane("normal")).toEqual([d, a, e, b, c]);
  });

  it("moves a job's queued chunks to its new priority, and keeps the reason", async () => {
    const { ids, control, lane, book, store } = await fiveQueued();
    const last = ids[4] as string;
    const record = await control.priority({ job_id: last, priority: "urgent", reason: "demo" });
    expect(record).toMatchObject({ priority: "urgent", spec: { priority: "urgent" } });
    expect(record.history).toEqual([
      expect.objectContaining({ action: "priority", from: "normal", to: "urgent", reason: "demo" }),
    ]);
    expect(lane("urgent")).toEqual([last]);
    expect(lane("normal")).not.toContain(last);
    expect(book.position(last)).toBe(1);
    expect((await store.get(last))?.value.priority).toBe("urgent");
  });

  it("refuses a position past the end of the priority, and a job that is not queued", async () => {
    const { ids, control, store } = await fiveQueued();
    await expect(control.reorder({ job_id: ids[0], new_position: 6 })).rejects.toThrow(
      /\/new_position: 6 is out of range: 5 job\(s\) are queued at priority normal/,
    );
    await store.update(ids[0] as string, (job) => ({ ...job, status: "RUNNING" }));
    await expect(control.reorder({ job_id: ids[0], new_position: 1 })).rejects.toThrow(
      /cannot reorder .*: it is RUNNING, and only a job that is QUEUED can be/,
    );
  });
});
