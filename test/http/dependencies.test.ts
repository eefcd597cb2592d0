import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HttpFixture, spec, startHttpFixture } from "./support.ts";

let fx: HttpFixture;
let url: string;

beforeAll(async () => {
  fx = await startHttpFixture();
  ({ url } = await fx.serve());
});
afterAll(() => fx.close());

// biome-ignore lint/suspicious/noExplicitAny: the JSON is asserted field by field
type Json = Record<string, any>;

async function post(path: string, body: unknown) {
  const res = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

const submit = async () => (await post("/api/v1/jobs", spec())).body.job_id as string;

describe("POST /api/v1/jobs/:id/dependencies", () => {
  it("takes seed 001's documented body (its job ids those of real jobs) and keeps them in the spec", async () => {
    // No job owner runs here: the jobs stay SUBMITTED, the first one waiting on another.
    const [first, second, before] = [await submit(), await submit(), await submit()];
    const job = (await post("/api/v1/jobs", spec({ depends_on: [before] }))).body.job_id;
    const { status, body } = await post(`/api/v1/jobs/${job}/dependencies`, {
      depends_on: [first, second],
      dependency_type: "all_complete",
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      job_id: job,
      spec: { depends_on: [before, first, second], dependency_type: "all_complete" },
    });
  });

  it("names an unknown job, a bad dependency_type and an unknown target", async () => {
    const alone = await submit();
    const job = (await post("/api/v1/jobs", spec({ depends_on: [alone] }))).body.job_id;
    const unknown = "job_000000000zzzzzzzzzz";
    const missing = await post(`/api/v1/jobs/${job}/dependencies`, { depends_on: [unknown] });
    expect(missing.status).toBe(400);
    expect(missing.body.errors).toEqual([
      { path: "/depends_on/0", message: `no job with job_id '${unknown}'` },
    ]);
    const type = await post(`/api/v1/jobs/${job}/dependencies`, {
      depends_on: [job],
      dependency_type: "some_complete",
    });
    expect(type.status).toBe(400);
    expect(type.body.errors[0].path).toBe("/dependency_type");
    const nobody = await post(`/api/v1/jobs/${unknown}/dependencies`, { depends_on: [job] });
    expect(nobody.status).toBe(404);
    // A job submitted without dependencies is being queued: too late to add any.
    const late = await post(`/api/v1/jobs/${alone}/dependencies`, { depends_on: [job] });
    expect(late.status).toBe(409);
    expect(late.body.code).toBe("TROUPE_ERR_JOB_NOT_WAITING");
  });
});
