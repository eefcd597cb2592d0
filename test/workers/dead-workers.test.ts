import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.ts";
import { ChunkSizer } from "../../src/jobs/chunk-sizing.ts";
import { Gateway } from "../../src/jobs/gateway.ts";
import { natsTaskPorts } from "../../src/transport/nats-ports.ts";
import type { WorkerActivity } from "../../src/workers/worker-record.ts";
import { eventually, type HttpFixture, silentLog, startHttpFixture } from "../http/support.ts";
import { longSpec } from "../support/jobs.ts";
import { spawnTroupe } from "../support/troupe-process.ts";

let fx: HttpFixture;
let url: string;

beforeAll(async () => {
  // The listing side keeps the default WORKER_TIMEOUT (60 s): staleness must not wait for it.
  fx = await startHttpFixture({ workerTimeoutMs: 60_000 });
  ({ url } = await fx.serve());
});
afterAll(() => fx.close());

async function activity(): Promise<WorkerActivity> {
  return (await (await fetch(`${url}/api/v1/workers`)).json()) as WorkerActivity;
}

describe("a worker whose process was killed", () => {
  it("reads STALE after two missed heartbeats, then leaves the list once silent for WORKER_TIMEOUT", async () => {
    const victim = spawnTroupe({
      env: {
        NATS_URL: fx.nats.url,
        PORT: "0",
        MAX_CONCURRENT_TASKS: "1",
        HEARTBEAT_INTERVAL: "300ms",
        WORKER_TIMEOUT: "60s",
      },
    });
    await victim.waitForLog("troupe started", 60_000);
    await fetch(`${url}/api/v1/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(longSpec({ tasks: 1 })),
    });
    await eventually(async () => (await activity()).busy_workers === 1, "the worker is BUSY");
    const [worker] = (await activity()).workers;
    const workerId = worker?.worker_id as string;
    expect(worker).toMatchObject({ status: "BUSY", heartbeat_interval_ms: 300 });

    victim.signal("SIGKILL");
    await victim.exited;
    // Two heartbeats (600 ms) missed, far short of WORKER_TIMEOUT: STALE, and neither active nor busy.
    await eventually(
      async () => (await activity()).workers[0]?.status === "STALE",
      "the dead worker reads STALE",
    );
    expect(await activity()).toMatchObject({
      total_workers: 1,
      active_workers: 0,
      busy_workers: 0,
      workers: [{ worker_id: workerId, status: "STALE" }],
    });

    // A lister whose WORKER_TIMEOUT (2 s) has passed removes it from the bucket, for everyone.
    const gone = fx.nc.subscribe(fx.names.events.worker(workerId), { max: 1 });
    const lister = new Gateway({
      nc: fx.nc,
      names: fx.names,
      topology: fx.topology,
      events: fx.events,
      ports: natsTaskPorts(fx.nc, fx.names, fx.topology),
      readiness: fx.readiness,
      defaultMaxAttempts: 4,
      workerTimeoutMs: 2_000,
      sizer: new ChunkSizer(50),
      clock: systemClock,
      log: silentLog,
    });
    await eventually(
      async () => (await lister.workers({})).total_workers === 0,
      "the dead worker leaves the list",
    );
    for await (const msg of gone) {
      expect(msg.json()).toMatchObject({ event: "gone", worker_id: workerId, status: "STALE" });
    }
    expect(await activity()).toMatchObject({ total_workers: 0, workers: [] });
  }, 90_000);
});
