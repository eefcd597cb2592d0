import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HttpFixture, spec, startHttpFixture } from "./support.ts";

const TOKEN = "s3cret-token-of-32-characters-xx";
let fx: HttpFixture;

beforeAll(async () => {
  fx = await startHttpFixture();
});
afterAll(() => fx.close());

/** The status of a GET, its body read (an unread body holds the connection open). */
async function status(url: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(url, { headers });
  await res.arrayBuffer();
  return res.status;
}

describe("bearer auth (TROUPE_API_TOKEN set)", () => {
  let url: string;
  beforeAll(async () => {
    ({ url } = await fx.serve({ apiToken: TOKEN }));
  });

  it("answers 401 with a problem and WWW-Authenticate without the token or with another one", async () => {
    for (const authorization of [
      undefined,
      "Bearer wrong-token",
      `Basic ${TOKEN}`,
      `Bearer ${TOKEN}x`,
    ]) {
      const headers: Record<string, string> = authorization ? { authorization } : {};
      const res = await fetch(`${url}/api/v1/queue/status`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect(await res.json()).toMatchObject({ status: 401, code: "TROUPE_ERR_UNAUTHORIZED" });
    }
  });

  it("serves every API route and the docs with the right token", async () => {
    const authorization = `Bearer ${TOKEN}`;
    const submit = await fetch(`${url}/api/v1/jobs`, {
      method: "POST",
      headers: { authorization, "content-type": "application/json" },
      body: JSON.stringify(spec()),
    });
    expect(submit.status).toBe(202);
    await submit.arrayBuffer();
    for (const path of ["/api/v1/jobs", "/api/v1/workers", "/api/v1/queue/status", "/docs/json"]) {
      expect(await status(`${url}${path}`, { authorization })).toBe(200);
    }
    expect(await status(`${url}/docs/json`)).toBe(401);
  });

  it("leaves /healthz, /readyz and /metrics open", async () => {
    for (const path of ["/healthz", "/readyz", "/metrics"]) {
      expect(await status(`${url}${path}`)).toBe(200);
    }
  });
});

describe("rate limit (RATE_LIMIT_PER_MIN)", () => {
  it("answers 429 with a problem and Retry-After past the limit, and keeps probes open", async () => {
    const { url } = await fx.serve({ rateLimitPerMin: 5 });
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${url}/api/v1/queue/status`);
      await res.arrayBuffer();
      expect(res.status).toBe(200);
      expect(res.headers.get("x-ratelimit-remaining")).toBe(String(4 - i));
    }
    const limited = await fetch(`${url}/api/v1/queue/status`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await limited.json()).toMatchObject({ status: 429, code: "TROUPE_ERR_RATE_LIMITED" });
    for (const path of ["/healthz", "/readyz", "/metrics"]) {
      expect(await status(`${url}${path}`)).toBe(200);
    }
  });
});

describe("read routes", () => {
  let url: string;
  beforeAll(async () => {
    ({ url } = await fx.serve());
  });

  it("reports queue lengths per priority lane", async () => {
    const res = await fetch(`${url}/api/v1/queue/status`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      queue_length: 0,
      running_jobs: 0,
      pending_jobs: 0,
      paused_jobs: 0,
      priority_queues: {
        urgent: { length: 0, avg_wait_time: 0 },
        high: { length: 0, avg_wait_time: 0 },
        normal: { length: 0, avg_wait_time: 0 },
        low: { length: 0, avg_wait_time: 0 },
      },
      queues: { urgent: 0, high: 0, normal: 0, low: 0 },
      pending: 0,
      running: 0,
    });
  });

  it("reports worker activity and one worker, and 404 for an unknown worker", async () => {
    const { pack } = await import("msgpackr");
    const now = new Date().toISOString();
    const record = {
      worker_id: "w-http-1",
      status: "BUSY",
      hostname: "node-a",
      pid: 42,
      capabilities: { cpu_cores: 2, memory_gb: 4, gpu_count: 0, max_concurrent_tasks: 2 },
      current_task_ids: ["job_x.0"],
      tasks_completed: 7,
      tasks_failed: 1,
      cpu_usage: 0.5,
      memory_usage: 0.25,
      last_activity_time: now,
      started_at: now,
    };
    await fx.topology.kv.workers.put(record.worker_id, pack(record));
    const all = await fetch(`${url}/api/v1/workers`);
    expect(all.status).toBe(200);
    // A record written without the newer counters reads them as 0; the seed orchestrators' fields
    // come beside Troupe's, in their units (percent, unix seconds).
    const listed = {
      ...record,
      tasks_cancelled: 0,
      tasks_retried: 0,
      cpu_usage: 50,
      memory_usage: 25,
      cpu_share: 0.5,
      memory_share: 0.25,
      last_activity_time: Math.floor(Date.parse(now) / 1000),
      last_activity_at: now,
      last_seen: now,
      current_task_id: "job_x.0",
      is_active: true,
      stale: false,
    };
    expect(await all.json()).toEqual({
      total_workers: 1,
      active_workers: 1,
      busy_workers: 1,
      workers: [listed],
    });
    const one = await fetch(`${url}/api/v1/workers/w-http-1`);
    expect(await one.json()).toEqual(listed);
    const missing = await fetch(`${url}/api/v1/workers/w-nobody`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: "TROUPE_ERR_WORKER_NOT_FOUND" });
  });

  it("answers /healthz with ok and /readyz with ready while NATS is up", async () => {
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: "ok" });
    expect(await (await fetch(`${url}/readyz`)).json()).toEqual({ status: "ready" });
  });
});
