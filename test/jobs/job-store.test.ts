import { describe, expect, it } from "vitest";
import { InvalidTransitionError } from "../../src/errors.ts";
import { newJobRecord } from "../../src/jobs/job-record.ts";
import { parseJobSpec } from "../../src/jobs/job-spec.ts";
import { JobStore } from "../../src/jobs/job-store.ts";
import { MemoryBucket } from "../support/memory-ports.ts";

const JOB = "job_0000000000000000003";

async function stored() {
  const bucket = new MemoryBucket();
  const spec = parseJobSpec(
    { model_type: "logistic_regression", dataset: { samples: 500, features: 2 }, tasks: 2 },
    { maxAttempts: 3 },
  );
  const store = new JobStore(bucket);
  expect(await store.create(newJobRecord(JOB, spec, new Date(0), 2))).toBe(true);
  return { bucket, store };
}

describe("the job store", () => {
  it("refuses a second record of the same id", async () => {
    const { store } = await stored();
    const again = await store.get(JOB);
    if (!again) throw new Error("no record");
    expect(await store.create(again.value)).toBe(false);
  });

  it("changes a record it wrote last without reading it again", async () => {
    const { bucket, store } = await stored();
    const reads = bucket.reads;
    await store.update(JOB, (job) => ({ ...job, status: "QUEUED" }));
    await store.update(JOB, (job) => ({ ...job, status: "RUNNING" }));
    expect(bucket.reads).toBe(reads);
    expect((await store.get(JOB))?.value.status).toBe("RUNNING");
  });

  it("redoes a change on the latest record when another writer changed it meanwhile", async () => {
    const { bucket, store } = await stored();
    const elsewhere = new JobStore(bucket); // another process
    await elsewhere.update(JOB, (job) => ({ ...job, status: "CANCELLED" }));
    // This process's version says SUBMITTED: its change is decided again on CANCELLED.
    const seen: string[] = [];
    const result = await store.update(JOB, (job) => {
      seen.push(job.status);
      return job.status === "CANCELLED" ? undefined : { ...job, status: "QUEUED" };
    });
    expect(seen).toEqual(["SUBMITTED", "CANCELLED"]);
    expect(result?.status).toBe("CANCELLED");
  });

  it("does not take 'no change' from a version that may be stale", async () => {
    const { bucket, store } = await stored();
    await new JobStore(bucket).update(JOB, (job) => ({ ...job, tasks_enqueued: true }));
    const result = await store.update(JOB, (job) => (job.tasks_enqueued ? job : undefined));
    expect(result?.tasks_enqueued).toBe(true);
  });

  it("refuses a change the transition table forbids", async () => {
    const { store } = await stored();
    await store.update(JOB, (job) => ({ ...job, status: "CANCELLED" }));
    await expect(store.update(JOB, (job) => ({ ...job, status: "RUNNING" }))).rejects.toThrow(
      InvalidTransitionError,
    );
  });
});
