import { jetstream } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { pack } from "msgpackr";
import { beforeAll, describe, expect, it } from "vitest";
import { newJobId, newJobRecord } from "../../src/jobs/job-record.ts";
import { parseJobSpec } from "../../src/jobs/job-spec.ts";
import { names } from "../../src/transport/subjects.ts";
import { type ApiClient, apiClient } from "../support/api-client.ts";
import { quickSpec, waitForJob } from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";
import { startTroupes, type TroupeProcess } from "../support/troupe-process.ts";

// Submit stores a job's record and its lease message together, in one round trip, so an owner
// can pull the lease before the record has landed. These tests hold the record back on purpose.

const n = names("troupe");
const encoder = new TextEncoder();
let client: ApiClient;
let troupe: TroupeProcess;

beforeAll(async () => {
  const nats = await startNats();
  [troupe] = (await startTroupes(1, nats.url, { LOG_LEVEL: "debug" })) as [TroupeProcess];
  client = await apiClient(nats.url);
});

function publishLease(jobId: string): Promise<unknown> {
  return jetstream(client.nc).publish(n.internal.job(jobId), encoder.encode(jobId), {
    msgID: jobId,
  });
}

function lookedAt(jobId: string, msg: string) {
  return troupe.waitForLog((line) => line.jobId === jobId && line.msg === msg);
}

describe("a lease pulled before its job record", () => {
  it("is looked at again, and the job runs once its record lands", async () => {
    const jobId = newJobId();
    await publishLease(jobId);
    await lookedAt(jobId, "job record not there yet; looking again");

    const spec = parseJobSpec(quickSpec(), { maxAttempts: 3 });
    const record = newJobRecord(jobId, spec, new Date(), 1);
    const jobs = await new Kvm(client.nc).open(n.buckets.jobs);
    await jobs.create(jobId, pack(record));

    const job = await waitForJob(client, jobId);
    expect(job.status).toBe("COMPLETED");
    expect(job.completed_tasks).toBe(job.total_tasks);
  });

  it("is dropped after a few looks when the record never comes", async () => {
    const jobId = newJobId();
    await publishLease(jobId);
    await lookedAt(jobId, "lease for a job without a record; dropping it");
    const looks = troupe.logs.filter(
      (line) => line.jobId === jobId && line.msg === "job record not there yet; looking again",
    );
    expect(looks.length).toBe(4);
    const reply = await client.request("troupe.jobs.get", { job_id: jobId });
    expect(reply.serviceErrorCode).toBe("404");
  });
});
