import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack } from "msgpackr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WorkerRecord } from "../../src/workers/worker-record.ts";
import type { LocalWorker } from "../../src/workers/worker-registry.ts";
import { type HttpFixture, startHttpFixture } from "./support.ts";

const TOKEN = "s3cret-token-of-32-characters-xx";
const started = new Date(Date.now() - 8130_000).toISOString(); // 2h15m30s ago

function record(id: string, ageMs: number, status: WorkerRecord["status"] = "IDLE"): WorkerRecord {
  const at = new Date(Date.now() - ageMs).toISOString();
  return {
    worker_id: id,
    status,
    hostname: "node-a",
    pid: 42,
    capabilities: { cpu_cores: 2, memory_gb: 7.8, gpu_count: 0, max_concurrent_tasks: 2 },
    current_task_ids: status === "BUSY" ? ["job_x.0", "job_x.1"] : [],
    tasks_completed: 47,
    tasks_failed: 0,
    tasks_cancelled: 0,
    tasks_retried: 0,
    cpu_usage: 0.785,
    memory_usage: 0.25,
    last_activity_time: at,
    started_at: started,
    heartbeat_interval_ms: 1_000,
  };
}

// This process's own worker, as the registry would give it.
const local: LocalWorker = {
  workerId: "w-local",
  snapshot: () => record("w-local", 0, "BUSY"),
  lastHeartbeatAt: () => Date.parse("2025-12-08T21:45:30Z"),
};

let fx: HttpFixture;
let url: string;
beforeAll(async () => {
  fx = await startHttpFixture({ worker: local, workerTimeoutMs: 60_000 });
  ({ url } = await fx.serve({ apiToken: TOKEN }));
});
afterAll(() => fx.close());

const auth = { authorization: `Bearer ${TOKEN}` };

describe("seed 003's operations routes", () => {
  it("lists the workers at /workers (a list) and one at /workers/{id}, with the token", async () => {
    await fx.topology.kv.workers.put("w-seed-1", pack(record("w-seed-1", 0, "BUSY")));
    expect((await fetch(`${url}/workers`)).status).toBe(401);
    const list = (await (await fetch(`${url}/workers`, { headers: auth })).json()) as Record<
      string,
      unknown
    >[];
    const mine = list.find((w) => w.worker_id === "w-seed-1");
    expect(mine).toMatchObject({ status: "BUSY", stale: false, last_seen: expect.any(String) });
    const one = await fetch(`${url}/workers/w-seed-1`, { headers: auth });
    expect(await one.json()).toEqual(mine);
    const missing = await fetch(`${url}/workers/w-nobody`, { headers: auth });
    expect(missing.status).toBe(404);
    const bad = await fetch(`${url}/workers/${"x".repeat(200)}`, { headers: auth });
    expect(bad.status).toBe(414); // a worker id is at most 128 characters; fastify cuts at 100
  });

  it("removes stale workers at once with POST /admin/cleanup, and keeps live ones", async () => {
    await fx.topology.kv.workers.put("w-live", pack(record("w-live", 0)));
    await fx.topology.kv.workers.put("w-stale", pack(record("w-stale", 5_000)));
    const res = await fetch(`${url}/admin/cleanup`, { method: "POST", headers: auth });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { ok: boolean; removed: number; workers_removed: string[] };
    expect(body).toMatchObject({ ok: true, workers_removed: expect.arrayContaining(["w-stale"]) });
    expect(body.removed).toBe(body.workers_removed.length);
    expect(body.workers_removed).not.toContain("w-live");
    const ids = (
      (await (await fetch(`${url}/workers`, { headers: auth })).json()) as {
        worker_id: string;
      }[]
    ).map((w) => w.worker_id);
    expect(ids).toContain("w-live");
    expect(ids).not.toContain("w-stale");
    const again = await fetch(`${url}/api/v1/admin/cleanup`, { method: "POST", headers: auth });
    expect(await again.json()).toEqual({ ok: true, removed: 0, workers_removed: [] });
  });
});

describe("seed 004's /health", () => {
  it("answers this process's worker without the token, in the seed's shape", async () => {
    const res = await fetch(`${url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: "BUSY",
      worker_id: "w-local",
      uptime: expect.stringMatching(/^2h15m3\ds$/),
      active_tasks: 2,
      completed_tasks: 47,
      cpu_usage: 78.5,
      memory_usage: expect.any(Number),
      last_heartbeat: "2025-12-08T21:45:30.000Z",
      orchestrator_connection: "connected",
    });
  });
});

describe("seed 002's Swagger UI routes", () => {
  it.each(["/swagger-ui/", "/swagger-ui/index.html", "/swagger"])(
    "sends %s to the Swagger UI at /docs",
    async (path) => {
      const res = await fetch(`${url}${path}`, { headers: auth, redirect: "manual" });
      expect(res.status).toBe(301);
      expect(res.headers.get("location")).toBe("/docs/");
      const page = await fetch(`${url}${path}`, { headers: auth });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("swagger-ui");
    },
  );
});

describe("CORS (CORS_ORIGINS)", () => {
  it("is off unless configured: no CORS headers", async () => {
    const res = await fetch(`${url}/healthz`, { headers: { origin: "https://app.example" } });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("answers a preflight without the token and allows the configured origin only", async () => {
    const { url: corsUrl } = await fx.serve({
      apiToken: TOKEN,
      corsOrigins: ["https://app.example"],
    });
    const preflight = await fetch(`${corsUrl}/api/v1/jobs`, {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(preflight.headers.get("access-control-allow-headers")).toMatch(/Authorization/);
    const get = await fetch(`${corsUrl}/api/v1/queue/status`, {
      headers: { ...auth, origin: "https://app.example" },
    });
    expect(get.headers.get("access-control-allow-origin")).toBe("https://app.example");
    const other = await fetch(`${corsUrl}/api/v1/queue/status`, {
      headers: { ...auth, origin: "https://evil.example" },
    });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("HTTPS (TLS_CERT, TLS_KEY)", () => {
  it("serves the API over TLS with the configured certificate", async () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-https-"));
    try {
      const [cert, key] = [join(dir, "cert.pem"), join(dir, "key.pem")];
      execFileSync(
        "openssl",
        [
          ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"],
          ...["-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1"],
          ...["-addext", "subjectAltName=IP:127.0.0.1"],
        ],
        { stdio: "ignore" },
      );
      const { url: httpsUrl } = await fx.serve({ tls: { certFile: cert, keyFile: key } });
      expect(httpsUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const body = await new Promise<string>((resolve, reject) => {
        request(`${httpsUrl}/healthz`, { ca: readFileSync(cert) }, (res) => {
          let text = "";
          res.on("data", (chunk: Buffer) => {
            text += chunk.toString();
          });
          res.on("end", () => resolve(text));
        })
          .on("error", reject)
          .end();
      });
      expect(JSON.parse(body)).toEqual({ status: "ok" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
