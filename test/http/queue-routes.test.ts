import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HttpFixture, spec, startHttpFixture } from "./support.ts";

let fx: HttpFixture;
let url: string;

beforeAll(async () => {
  fx = await startHttpFixture();
  ({ url } = await fx.serve());
});
afterAll(() => fx.close());

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: the JSON is asserted field by field
  return { res, body: (await res.json()) as Record<string, any> };
}

describe("the queue control routes", () => {
  it("change a job's priority with its reason kept, and refuse bad input as problems naming it", async () => {
    const submitted = await call("POST", "/api/v1/jobs", spec());
    expect(submitted.body.queue_position).toBeGreaterThanOrEqual(1);
    const id = submitted.body.job_id as string;

    const raised = await call("PUT", `/api/v1/jobs/${id}/priority`, {
      priority: "urgent",
      reason: "the demo is at noon",
    });
    expect(raised.res.status).toBe(200);
    expect(raised.body).toMatchObject({
      priority: "urgent",
      history: [{ action: "priority", from: "high", to: "urgent", reason: "the demo is at noon" }],
    });

    const cases: [string, string, unknown, number, RegExp][] = [
      ["PUT", `/api/v1/jobs/${id}/priority`, { priority: "soon" }, 400, /\/priority/],
      [
        "PUT",
        `/api/v1/jobs/${id}/priority`,
        { priority: "low", because: "x" },
        400,
        /\/because: unknown field/,
      ],
      ["PUT", "/api/v1/jobs/job_0000000000000000000/priority", { priority: "low" }, 404, /no job/],
      // Not yet queued (no process owns it here): neither paused nor reordered, both states named.
      [
        "POST",
        `/api/v1/jobs/${id}/pause`,
        {},
        409,
        /cannot pause .*it is SUBMITTED.*QUEUED or RUNNING/,
      ],
      [
        "POST",
        `/api/v1/jobs/${id}/resume`,
        undefined,
        409,
        /cannot resume .*it is SUBMITTED.*PAUSED/,
      ],
      [
        "POST",
        "/api/v1/queue/reorder",
        { job_id: id, new_position: 1 },
        409,
        /cannot reorder .*it is SUBMITTED/,
      ],
      ["POST", "/api/v1/queue/reorder", { job_id: id, new_position: 0 }, 400, /\/new_position/],
      ["POST", "/api/v1/queue/reorder", { new_position: 1 }, 400, /\/job_id/],
      ["GET", "/api/v1/analytics?window=soon", undefined, 400, /window/],
    ];
    for (const [method, path, body, status, detail] of cases) {
      const answer = await call(method, path, body);
      expect(answer.res.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(status);
      expect(answer.res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(answer.body.detail).toMatch(detail);
    }
    // Still serving.
    const analytics = await call("GET", "/api/v1/analytics?window=1h");
    expect(analytics.res.status).toBe(200);
    expect(analytics.body).toMatchObject({ window: "1h", total_jobs: 0 });
  });
});
