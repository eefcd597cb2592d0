import { beforeAll, describe, expect, it } from "vitest";
import { type ApiClient, apiClient } from "../support/api-client.ts";
import { getJob, longSpec, quickSpec, submit, waitForJob } from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";
import { startTroupes } from "../support/troupe-process.ts";

let client: ApiClient;

beforeAll(async () => {
  const nats = await startNats();
  await startTroupes(1, nats.url, { MAX_CONCURRENT_TASKS: "3" });
  client = await apiClient(nats.url);
}, 60_000);

type ErrorReply = { error: { code: string; message: string; errors?: { path: string }[] } };
const isWaiting = (job: { status: string }) => job.status === "WAITING";

describe("job dependencies", () => {
  it("all_complete: the dependent waits, then runs after its dependency completed", async () => {
    const first = await submit(client, quickSpec({ epochs: 5 }));
    const second = await submit(client, quickSpec({ depends_on: [first] }));
    const done = await waitForJob(client, second);
    const upstream = await getJob(client, first);
    expect(done.status).toBe("COMPLETED");
    expect(Date.parse(done.started_at as string)).toBeGreaterThanOrEqual(
      Date.parse(upstream.finished_at as string),
    );
  });

  it("all_complete: a dependency that ends otherwise cancels the dependent, naming it", async () => {
    const doomed = await submit(client, longSpec({ tasks: 1 }));
    const dependent = await submit(client, quickSpec({ dependencies: [doomed] }));
    await waitForJob(client, dependent, 20_000, isWaiting);
    await client.request("troupe.jobs.cancel", { job_id: doomed });
    const job = await waitForJob(client, dependent);
    expect(job.status).toBe("CANCELLED");
    expect(job.error).toBe(`dependency ${doomed} ended CANCELLED`);
    expect(job.started_at).toBeNull();
  });

  it("any_complete runs on one completion; all_finished runs once all ended, however", async () => {
    const stuck = await submit(client, longSpec({ tasks: 1 }));
    const quick = await submit(client, quickSpec());
    const any = await submit(
      client,
      quickSpec({ depends_on: [stuck, quick], dependency_type: "any_complete" }),
    );
    const all = await submit(
      client,
      quickSpec({ depends_on: [stuck, quick], dependency_type: "all_finished" }),
    );
    expect((await waitForJob(client, any)).status).toBe("COMPLETED");
    expect((await getJob(client, all)).status).toBe("WAITING");
    await client.request("troupe.jobs.cancel", { job_id: stuck });
    expect((await waitForJob(client, all)).status).toBe("COMPLETED");
  });

  it("takes dependencies added later with troupe.jobs.dependencies, and waits for them too", async () => {
    const stuck = await submit(client, longSpec({ tasks: 1 }));
    const later = await submit(client, longSpec({ tasks: 1, epochs: 8 }));
    const dependent = await submit(
      client,
      quickSpec({ depends_on: [stuck], dependency_type: "all_finished" }),
    );
    await waitForJob(client, dependent, 20_000, isWaiting);
    const added = await client.request<{ spec: { depends_on: string[] } }>(
      "troupe.jobs.dependencies",
      { job_id: dependent, depends_on: [later] },
    );
    expect(added.body.spec.depends_on).toEqual([stuck, later]);
    await client.request("troupe.jobs.cancel", { job_id: stuck });
    const job = await waitForJob(client, dependent);
    const waitedFor = await getJob(client, later);
    expect(job.status).toBe("COMPLETED");
    expect(Date.parse(job.started_at as string)).toBeGreaterThanOrEqual(
      Date.parse(waitedFor.finished_at as string),
    );
  });

  it("refuses an unknown dependency at submit, a cycle and a queued job, naming them", async () => {
    const unknown = "job_000000000zzzzzzzzzz";
    const refused = await client.request<ErrorReply>(
      "troupe.jobs.submit",
      quickSpec({ depends_on: [unknown] }),
    );
    expect(refused.serviceErrorCode).toBe("400");
    expect(refused.body.error.errors).toEqual([
      { path: "/depends_on/0", message: `no job with job_id '${unknown}'` },
    ]);

    const root = await submit(client, longSpec({ tasks: 1 }));
    const a = await submit(client, quickSpec({ depends_on: [root] }));
    const b = await submit(client, quickSpec({ depends_on: [a] }));
    const cycle = await client.request<ErrorReply>("troupe.jobs.dependencies", {
      job_id: a,
      depends_on: [b],
    });
    expect(cycle.serviceErrorCode).toBe("400");
    expect(cycle.body.error.message).toContain(`would close a cycle: ${a} → ${b} → ${a}`);

    const queued = await client.request<ErrorReply>("troupe.jobs.dependencies", {
      job_id: root,
      depends_on: [a],
    });
    expect(queued.serviceErrorCode).toBe("409");
    expect(queued.body.error.code).toBe("TROUPE_ERR_JOB_NOT_WAITING");
    await client.request("troupe.jobs.cancel", { job_id: root });
    expect((await waitForJob(client, b)).error).toBe(`dependency ${a} ended CANCELLED`);
  });
});
