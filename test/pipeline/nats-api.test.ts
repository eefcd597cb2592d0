import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { headers } from "@nats-io/transport-node";
import { pack, unpack } from "msgpackr";
import { beforeAll, describe, expect, it } from "vitest";
import { type ApiClient, apiClient } from "../support/api-client.ts";
import { getJob, quickSpec, submit, waitForJob } from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";
import { startTroupes, type TroupeProcess } from "../support/troupe-process.ts";

// The server allows 4 MiB messages so the 1 MiB request limit is Troupe's own to enforce.
const serverConfig = join(tmpdir(), `troupe-nats-${process.pid}.conf`);
writeFileSync(serverConfig, "max_payload: 4MB\n");

let client: ApiClient;
let troupe: TroupeProcess;

beforeAll(async () => {
  const nats = await startNats({ configFile: serverConfig });
  [troupe] = (await startTroupes(1, nats.url)) as [TroupeProcess];
  client = await apiClient(nats.url);
});

describe("the NATS API, as `nats req` uses it", () => {
  it("runs a job sent as raw JSON bytes to completion, with metrics", async () => {
    const reply = await client.request(
      "troupe.jobs.submit",
      JSON.stringify(quickSpec({ tasks: 3 })),
    );
    expect(reply.serviceError).toBeUndefined();
    expect(reply.body).toMatchObject({ status: "SUBMITTED", total_tasks: 3 });
    const job = await waitForJob(client, reply.body.job_id as string);
    expect(job).toMatchObject({
      status: "COMPLETED",
      completed_tasks: 3,
      total_tasks: 3,
      failed_tasks: 0,
      progress: 1,
    });
    expect(job.metrics.accuracy).toBeGreaterThan(0.5);
    expect(job.metrics.loss).toBeGreaterThan(0);
    expect(job.started_at).not.toBeNull();
    expect(job.finished_at).not.toBeNull();
  });

  it("refuses to cancel a completed job with 409 naming its state, and leaves it COMPLETED", async () => {
    const jobId = await submit(client, quickSpec());
    expect((await waitForJob(client, jobId)).status).toBe("COMPLETED");
    const reply = await client.request<{ error: { code: string; message: string } }>(
      "troupe.jobs.cancel",
      { job_id: jobId },
    );
    expect(reply.serviceErrorCode).toBe("409");
    expect(reply.body.error.code).toBe("TROUPE_ERR_JOB_ENDED");
    expect(reply.body.error.message).toBe(`job '${jobId}' has already ended: it is COMPLETED`);
    expect(reply.serviceError).toContain("COMPLETED");
    expect((await getJob(client, jobId)).status).toBe("COMPLETED");
  });

  it("answers a msgpack request in msgpack", async () => {
    const h = headers();
    h.set("Content-Type", "application/msgpack");
    const reply = await client.nc.request("troupe.jobs.submit", pack(quickSpec()), {
      headers: h,
      timeout: 10_000,
    });
    const body = unpack(reply.data) as { job_id: string; status: string };
    expect(body.status).toBe("SUBMITTED");
    expect((await waitForJob(client, body.job_id)).status).toBe("COMPLETED");
  });

  it("accepts a plain publish to the submit subject as a submission", async () => {
    const name = `published-${Date.now()}`;
    client.nc.publish(
      "troupe.jobs.submit",
      JSON.stringify(quickSpec({ name, user_id: "publisher" })),
    );
    let found: { job_id: string; name: string } | undefined;
    while (!found) {
      const list = await client.request<{ jobs: { job_id: string; name: string }[] }>(
        "troupe.jobs.list",
        { user_id: "publisher" },
      );
      found = list.body.jobs.find((job) => job.name === name);
    }
    expect((await waitForJob(client, found.job_id)).status).toBe("COMPLETED");
  });

  it("returns the same job for the same idempotency_key", async () => {
    const spec = quickSpec({ idempotency_key: `key-${Date.now()}` });
    const first = await client.request("troupe.jobs.submit", spec);
    const second = await client.request("troupe.jobs.submit", spec);
    expect(second.body.job_id).toBe(first.body.job_id);
    expect(second.body.duplicate).toBe(true);
  });

  it("lists jobs newest first, filtered by status and paged with a cursor", async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await submit(client, quickSpec({ user_id: "lister" })));
    for (const id of ids) await waitForJob(client, id);
    const page1 = await client.request<{ jobs: { job_id: string }[]; next_cursor: string }>(
      "troupe.jobs.list",
      { user_id: "lister", status: "COMPLETED", limit: 2 },
    );
    expect(page1.body.jobs.map((j) => j.job_id)).toEqual([ids[2], ids[1]]);
    const page2 = await client.request<{ jobs: { job_id: string }[]; next_cursor: string | null }>(
      "troupe.jobs.list",
      { user_id: "lister", limit: 2, cursor: page1.body.next_cursor },
    );
    expect(page2.body.jobs.map((j) => j.job_id)).toEqual([ids[0]]);
    expect(page2.body.next_cursor).toBeNull();
  });

  it("reports workers and queue status", async () => {
    const workers = await client.request<{
      total_workers: number;
      active_workers: number;
      workers: { worker_id: string; status: string }[];
    }>("troupe.workers.list", {});
    expect(workers.body.total_workers).toBe(1);
    expect(workers.body.active_workers).toBe(1);
    expect(["IDLE", "BUSY"]).toContain(workers.body.workers[0]?.status);
    const queue = await client.request<{
      queues: Record<string, number>;
      pending: number;
      running: number;
    }>("troupe.queue.status", {});
    expect(Object.keys(queue.body.queues)).toEqual(["urgent", "high", "normal", "low"]);
    expect(queue.body.pending).toBeGreaterThanOrEqual(0);
  });
});

describe("bad input on the NATS API", () => {
  it.each([
    ["malformed JSON", "{not json", "not valid JSON"],
    ["a wrong type", { model_type: "logistic_regression", tasks: "four" }, "/tasks"],
    ["an unknown field", { model_type: "logistic_regression", taks: 4 }, "/taks: unknown field"],
    ["an unknown model type", { model_type: "kernel_svm" }, "/model_type"],
    [
      "an out-of-range hyperparameter",
      { model_type: "xgboost", hyperparameters: { max_depth: 99 } },
      "/hyperparameters/max_depth",
    ],
    ["a missing model_type", { tasks: 2 }, "/model_type"],
  ])("answers %s with an error naming it, and keeps serving", async (_what, body, named) => {
    const reply = await client.request<{ error: { code: string; message: string } }>(
      "troupe.jobs.submit",
      body,
    );
    expect(reply.serviceErrorCode).toBe("400");
    expect(reply.body.error.message).toContain(named);
    expect(reply.serviceError).toContain(named);
  });

  it("names every field at fault in one error reply, as a list and in the message", async () => {
    const reply = await client.request<{
      error: { code: string; message: string; errors: { path: string; message: string }[] };
    }>("troupe.jobs.submit", {
      model_type: "xgboost",
      tasks: 0,
      epochs: "ten",
      priority: "asap",
      hyperparameters: { max_depht: 5 },
    });
    expect(reply.serviceErrorCode).toBe("400");
    expect(reply.body.error.code).toBe("TROUPE_ERR_INVALID_REQUEST");
    const paths = ["/priority", "/epochs", "/tasks", "/hyperparameters/max_depht"];
    expect(reply.body.error.errors.map((e) => e.path).sort()).toEqual([...paths].sort());
    expect(reply.body.error.errors).toContainEqual({
      path: "/hyperparameters/max_depht",
      message: "unknown field",
    });
    for (const path of paths) expect(reply.serviceError).toContain(`${path}: `);
  });

  it("publishes a refused plain publish on troupe.events.rejected, with its errors and its key", async () => {
    const events = client.nc.subscribe("troupe.events.rejected");
    await client.nc.flush();
    const key = `bad-${Date.now()}`;
    const before = new Date().toISOString();
    client.nc.publish(
      "troupe.jobs.submit",
      JSON.stringify({ model_type: "xgboost", tasks: 0, name: "typo", idempotency_key: key }),
    );
    client.nc.publish("troupe.jobs.submit", "{not json");
    const received: Record<string, unknown>[] = [];
    for await (const msg of events) {
      received.push(msg.json());
      if (received.length === 2) break;
    }
    // The undecodable one fails at once, the spec only in the gateway: they may arrive either way.
    const spec = received.find((event) => event.idempotency_key === key);
    const garbage = received.find((event) => event !== spec);
    expect(spec).toMatchObject({
      type: "rejected",
      subject: "troupe.jobs.submit",
      code: "TROUPE_ERR_INVALID_REQUEST",
      message: "invalid job spec: /tasks: must be >= 1",
      errors: [{ path: "/tasks", message: "must be >= 1" }],
      idempotency_key: key,
      name: "typo",
    });
    expect((spec?.received_at as string) >= before).toBe(true);
    expect(garbage).toMatchObject({ type: "rejected", code: "TROUPE_ERR_INVALID_REQUEST" });
    expect(garbage?.message).toContain("not valid JSON");
    expect(garbage).not.toHaveProperty("idempotency_key");
    // Nothing was queued for the refused spec, and the process serves on.
    const listed = await client.request<{ jobs: { name: string }[] }>("troupe.jobs.list", {});
    expect(listed.body.jobs.some((job) => job.name === "typo")).toBe(false);
  });

  it("refuses a body over 1 MiB with 413", async () => {
    const huge = JSON.stringify({ ...quickSpec(), name: "x".repeat(1024 * 1024 + 10) });
    const reply = await client.request<{ error: { code: string; message: string } }>(
      "troupe.jobs.submit",
      huge,
    );
    expect(reply.serviceErrorCode).toBe("413");
    expect(reply.body.error.message).toContain("exceeds 1048576 bytes");
  });

  it("answers an unknown job_id with 404 on get and cancel", async () => {
    for (const subject of ["troupe.jobs.get", "troupe.jobs.cancel"]) {
      const reply = await client.request<{ error: { code: string; message: string } }>(subject, {
        job_id: "job_00000000000000000000".slice(0, 23),
      });
      expect(reply.serviceErrorCode).toBe("404");
      expect(reply.body.error.code).toBe("TROUPE_ERR_JOB_NOT_FOUND");
    }
  });

  it("answers a malformed job_id with 400 naming the field", async () => {
    const reply = await client.request<{ error: { message: string } }>("troupe.jobs.get", {
      job_id: "../etc",
    });
    expect(reply.serviceErrorCode).toBe("400");
    expect(reply.body.error.message).toContain("/job_id");
  });

  it("leaves other jobs untouched and the process up after all of it", async () => {
    const jobId = await submit(client, quickSpec());
    await client.request("troupe.jobs.submit", "][");
    await client.request("troupe.jobs.submit", { model_type: 42 });
    expect((await waitForJob(client, jobId)).status).toBe("COMPLETED");
    expect((await getJob(client, jobId)).failed_tasks).toBe(0);
    expect(troupe.logs.some((line) => line.level >= 60)).toBe(false);
  });
});
