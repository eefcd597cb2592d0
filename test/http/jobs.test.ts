import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { type HttpFixture, spec, startHttpFixture } from "./support.ts";

let fx: HttpFixture;
let url: string;

beforeAll(async () => {
  fx = await startHttpFixture();
  ({ url } = await fx.serve());
});
afterAll(() => fx.close());

const JSON_TYPE = { "content-type": "application/json" };

async function post(path: string, body: unknown, headers: Record<string, string> = JSON_TYPE) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const res = await fetch(`${url}${path}`, { method: "POST", headers, body: text });
  // biome-ignore lint/suspicious/noExplicitAny: the JSON is asserted field by field
  return { res, body: (await res.json()) as Record<string, any> };
}

async function get(path: string) {
  const res = await fetch(`${url}${path}`);
  // biome-ignore lint/suspicious/noExplicitAny: the JSON is asserted field by field
  return { res, body: (await res.json()) as Record<string, any> };
}

function expectProblem(res: Response, body: Record<string, unknown>, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(body).toMatchObject({ status, code, type: `urn:troupe:error:${code}` });
  expect(typeof body.title).toBe("string");
  expect(typeof body.detail).toBe("string");
  expect(Array.isArray(body.errors)).toBe(true);
}

describe("POST /api/v1/jobs", () => {
  it("queues a JSON spec and answers 202 with job_id, status and total_tasks", async () => {
    const { res, body } = await post("/api/v1/jobs", spec());
    expect(res.status).toBe(202);
    const { queue_position, estimated_start_time, ...rest } = body;
    expect(rest).toEqual({
      job_id: expect.stringMatching(/^job_[0-9a-z]{19}$/),
      status: "SUBMITTED",
      total_tasks: 2,
      duplicate: false,
      message: "Job submitted successfully",
    });
    expect(queue_position).toBeGreaterThanOrEqual(1);
    // No start rate is known yet in a fresh process: no estimate rather than a made-up one.
    if (estimated_start_time !== null) expect(Date.parse(estimated_start_time)).not.toBeNaN();
  });

  it("gives equal jobs for the same spec sent as YAML (application/yaml and text/yaml) and as JSON", async () => {
    const fromJson = await post("/api/v1/jobs", spec());
    const records = [await get(`/api/v1/jobs/${fromJson.body.job_id}`)];
    for (const type of ["application/yaml", "text/yaml"]) {
      const fromYaml = await post("/api/v1/jobs", stringify(spec()), { "content-type": type });
      expect(fromYaml.res.status).toBe(202);
      records.push(await get(`/api/v1/jobs/${fromYaml.body.job_id}`));
    }
    const comparable = ({ job_id, created_at, ...rest }: Record<string, unknown>) => rest;
    const [json, ...yamls] = records.map((r) => comparable(r.body));
    for (const yaml of yamls) expect(yaml).toEqual(json);
  });

  it("returns the first job again for a repeated idempotency_key", async () => {
    const first = await post("/api/v1/jobs", spec({ idempotency_key: "http-idem-1" }));
    const second = await post("/api/v1/jobs", spec({ idempotency_key: "http-idem-1" }));
    expect(second.res.status).toBe(202);
    expect(second.body).toMatchObject({ job_id: first.body.job_id, duplicate: true });
  });

  it("refuses an unknown field and a bad value with a problem naming the field", async () => {
    const typo = await post("/api/v1/jobs", spec({ priorty: "high" }));
    expectProblem(typo.res, typo.body, 400, "TROUPE_ERR_INVALID_REQUEST");
    expect(typo.body.errors).toEqual([{ path: "/priorty", message: "unknown field" }]);
    const zero = await post("/api/v1/jobs", spec({ tasks: 0 }));
    expectProblem(zero.res, zero.body, 400, "TROUPE_ERR_INVALID_REQUEST");
    expect(zero.body.errors.map((e: { path: string }) => e.path)).toEqual(["/tasks"]);
  });

  it("names every field at fault in one answer, in JSON and in YAML", async () => {
    const bad = {
      model_type: "xgboost",
      tasks: 0,
      epochs: "ten",
      priority: "asap",
      hyperparameters: { max_depht: 5 },
    };
    const paths = ["/priority", "/epochs", "/tasks", "/hyperparameters/max_depht"];
    for (const [text, type] of [
      [JSON.stringify(bad), "application/json"],
      [stringify(bad), "application/yaml"],
    ] as const) {
      const { res, body } = await post("/api/v1/jobs", text, { "content-type": type });
      expectProblem(res, body, 400, "TROUPE_ERR_INVALID_REQUEST");
      expect(body.errors.map((e: { path: string }) => e.path).sort()).toEqual([...paths].sort());
      for (const path of paths) expect(body.detail).toContain(`${path}: `);
    }
  });

  it("refuses a spec without model_type, naming /model_type", async () => {
    const { model_type, ...rest } = spec();
    const { res, body } = await post("/api/v1/jobs", rest);
    expectProblem(res, body, 400, "TROUPE_ERR_INVALID_REQUEST");
    // The training check reports it on the object, naming the field in the message.
    expect(JSON.stringify(body.errors)).toContain("model_type");
  });

  it("refuses malformed JSON, malformed YAML, an empty body and an unknown media type", async () => {
    const badJson = await post("/api/v1/jobs", '{"model_type": ');
    expectProblem(badJson.res, badJson.body, 400, "TROUPE_ERR_INVALID_REQUEST");
    const badYaml = await post("/api/v1/jobs", "model_type: [unclosed", {
      "content-type": "application/yaml",
    });
    expectProblem(badYaml.res, badYaml.body, 400, "TROUPE_ERR_INVALID_REQUEST");
    expect(badYaml.body.errors[0].message).toMatch(/^line \d+, column \d+/);
    const empty = await post("/api/v1/jobs", "");
    expectProblem(empty.res, empty.body, 400, "TROUPE_ERR_INVALID_REQUEST");
    const xml = await post("/api/v1/jobs", "<job/>", { "content-type": "application/xml" });
    expectProblem(xml.res, xml.body, 415, "TROUPE_ERR_UNSUPPORTED_MEDIA_TYPE");
  });

  it("answers 413 to a body over 1 MiB", async () => {
    const huge = JSON.stringify({ ...spec(), name: "x".repeat(1024 * 1024) });
    const { res, body } = await post("/api/v1/jobs", huge);
    expectProblem(res, body, 413, "TROUPE_ERR_PAYLOAD_TOO_LARGE");
  });

  it("refuses a __proto__ key instead of merging it", async () => {
    const { res, body } = await post(
      "/api/v1/jobs",
      '{"model_type":"xgboost","__proto__":{"x":1}}',
    );
    expectProblem(res, body, 400, "TROUPE_ERR_INVALID_REQUEST");
  });
});

describe("POST /api/v1/jobs/batch", () => {
  it("queues every spec and gives a result per item, in order", async () => {
    const specs = [spec({ name: "a" }), spec({ name: "b", tasks: 3 }), spec({ name: "c" })];
    const { res, body } = await post("/api/v1/jobs/batch", { specs });
    expect(res.status).toBe(202);
    expect(body).toMatchObject({ submitted: 3, failed: 0 });
    expect(body.results.map((r: { index: number }) => r.index)).toEqual([0, 1, 2]);
    expect(body.results[1]).toMatchObject({ ok: true, status: "SUBMITTED", total_tasks: 3 });
    const names = await Promise.all(
      body.results.map(
        async (r: { job_id: string }) => (await get(`/api/v1/jobs/${r.job_id}`)).body.name,
      ),
    );
    expect(names).toEqual(["a", "b", "c"]);
  });

  it("accepts a batch of 1000 specs", async () => {
    const specs = Array.from({ length: 1000 }, (_, i) => spec({ name: `bulk-${i}`, tasks: 1 }));
    const { res, body } = await post("/api/v1/jobs/batch", { specs });
    expect(res.status).toBe(202);
    expect(body).toMatchObject({ submitted: 1000, failed: 0 });
  });

  it("queues nothing when one spec is invalid, and names the spec and field", async () => {
    const before = (await get("/api/v1/jobs?user_id=batch-bob&limit=1000")).body.jobs.length;
    const specs = [spec({ user_id: "batch-bob" }), spec({ user_id: "batch-bob", epochs: -1 })];
    const { res, body } = await post("/api/v1/jobs/batch", { specs });
    expectProblem(res, body, 400, "TROUPE_ERR_INVALID_REQUEST");
    expect(body.errors.map((e: { path: string }) => e.path)).toEqual(["/specs/1/epochs"]);
    const after = (await get("/api/v1/jobs?user_id=batch-bob&limit=1000")).body.jobs.length;
    expect(after).toBe(before);
  });

  it("refuses more than 1000 specs and an empty batch", async () => {
    const tooMany = await post("/api/v1/jobs/batch", { specs: Array(1001).fill(spec()) });
    expectProblem(tooMany.res, tooMany.body, 400, "TROUPE_ERR_INVALID_REQUEST");
    expect(tooMany.body.errors[0].path).toBe("/specs");
    const empty = await post("/api/v1/jobs/batch", { specs: [] });
    expectProblem(empty.res, empty.body, 400, "TROUPE_ERR_INVALID_REQUEST");
  });

  it("accepts a batch in YAML", async () => {
    const yaml = stringify({ specs: [spec({ name: "y1" }), spec({ name: "y2" })] });
    const { res, body } = await post("/api/v1/jobs/batch", yaml, { "content-type": "text/yaml" });
    expect(res.status).toBe(202);
    expect(body.submitted).toBe(2);
  });
});

describe("GET /api/v1/jobs/:id", () => {
  it("returns every field of the job record users need, and not the internal ones", async () => {
    const { body: submitted } = await post("/api/v1/jobs", spec({ timeout_s: 600 }));
    const { res, body } = await get(`/api/v1/jobs/${submitted.job_id}`);
    expect(res.status).toBe(200);
    expect(body).toMatchObject({
      job_id: submitted.job_id,
      name: "churn-mlp",
      model_type: "neural_network",
      status: "SUBMITTED",
      priority: "high",
      user_id: "alice",
      total_tasks: 2,
      completed_tasks: 0,
      failed_tasks: 0,
      running_tasks: 0,
      progress: 0,
      metrics: { loss: null, accuracy: null },
      retries: 0,
      error: null,
      started_at: null,
      finished_at: null,
    });
    expect(new Date(body.created_at).toISOString()).toBe(body.created_at);
    expect(body.spec).toMatchObject({
      dataset: { samples: 2000, features: 8, classes: 2, seed: 7 },
      epochs: 3,
      tasks: 2,
      hyperparameters: { learning_rate: 0.05, batch_size: 64, hidden_units: 16 },
      resources: { cpu_cores: 1, memory_gb: 1, gpu_count: 0 },
      retry_policy: { max_attempts: 4, backoff_ms: 1000 },
      timeout_s: 600,
    });
    expect(body).not.toHaveProperty("tasks_enqueued");
  });

  it("answers 404 for an unknown job and 400 naming /id for a malformed id", async () => {
    const missing = await get("/api/v1/jobs/job_000000000aaaaaaaaaa");
    expectProblem(missing.res, missing.body, 404, "TROUPE_ERR_JOB_NOT_FOUND");
    const malformed = await get("/api/v1/jobs/not-a-job");
    expectProblem(malformed.res, malformed.body, 400, "TROUPE_ERR_INVALID_REQUEST");
    expect(malformed.body.errors[0].path).toBe("/id");
  });
});

describe("GET /api/v1/jobs", () => {
  it("filters by user_id and status and pages with next_cursor", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await post("/api/v1/jobs", spec({ user_id: "pager" }))).body.job_id);
    const page1 = await get("/api/v1/jobs?user_id=pager&status=SUBMITTED&limit=2");
    expect(page1.res.status).toBe(200);
    expect(page1.body.jobs.map((j: { job_id: string }) => j.job_id)).toEqual([ids[2], ids[1]]);
    expect(page1.body.next_cursor).toBe(ids[1]);
    const page2 = await get(`/api/v1/jobs?user_id=pager&limit=2&cursor=${page1.body.next_cursor}`);
    expect(page2.body.jobs.map((j: { job_id: string }) => j.job_id)).toEqual([ids[0]]);
    expect(page2.body.next_cursor).toBeNull();
    const none = await get("/api/v1/jobs?user_id=pager&status=RUNNING");
    expect(none.body.jobs).toEqual([]);
  });

  it("refuses a bad filter, naming the query field", async () => {
    const limit = await get("/api/v1/jobs?limit=5000");
    expectProblem(limit.res, limit.body, 400, "TROUPE_ERR_INVALID_REQUEST");
    expect(limit.body.errors[0].path).toBe("/limit");
    const status = await get("/api/v1/jobs?status=DONE");
    expect(status.body.errors[0]).toMatchObject({ path: "/status" });
    const unknown = await get("/api/v1/jobs?colour=red");
    expect(unknown.body.errors[0]).toEqual({ path: "/colour", message: "unknown field" });
  });
});

describe("POST /api/v1/jobs/:id/cancel", () => {
  it("cancels a job and returns its record; cancelling again is a 409 naming the state", async () => {
    const { body: submitted } = await post("/api/v1/jobs", spec());
    const first = await post(`/api/v1/jobs/${submitted.job_id}/cancel`, undefined, {});
    expect(first.res.status).toBe(200);
    expect(first.body).toMatchObject({ job_id: submitted.job_id, status: "CANCELLED" });
    expect(first.body.finished_at).toEqual(expect.any(String));
    const again = await post(`/api/v1/jobs/${submitted.job_id}/cancel`, undefined, {});
    expectProblem(again.res, again.body, 409, "TROUPE_ERR_JOB_ENDED");
    expect(again.body.detail).toBe(`job '${submitted.job_id}' has already ended: it is CANCELLED`);
    const record = await get(`/api/v1/jobs/${submitted.job_id}`);
    expect(record.body).toEqual(first.body);
  });

  it("cancels with content-type: application/json and no body, as clients send it", async () => {
    const { body: submitted } = await post("/api/v1/jobs", spec());
    const res = await fetch(`${url}/api/v1/jobs/${submitted.job_id}/cancel`, {
      method: "POST",
      headers: JSON_TYPE,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ job_id: submitted.job_id, status: "CANCELLED" });
  });

  it("answers 404 for an unknown job", async () => {
    const { res, body } = await post("/api/v1/jobs/job_000000000aaaaaaaaaa/cancel", undefined, {});
    expectProblem(res, body, 404, "TROUPE_ERR_JOB_NOT_FOUND");
  });
});

describe("unknown routes", () => {
  it("answer 404 as a problem", async () => {
    const { res, body } = await get("/api/v1/nothing");
    expectProblem(res, body, 404, "TROUPE_ERR_ROUTE_NOT_FOUND");
  });

  it("answer 404, not 400, whatever body comes with a JSON content type", async () => {
    const path = "/api/v1/jobs/job_000000000aaaaaaaaaa/rewind";
    for (const text of ["", '{"reason": ', '{"reason":"lunch"}']) {
      const { res, body } = await post(path, text);
      expectProblem(res, body, 404, "TROUPE_ERR_ROUTE_NOT_FOUND");
      expect(body.detail).toBe(`no route POST ${path}`);
    }
  });
});
