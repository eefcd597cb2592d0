import { beforeAll, describe, expect, it } from "vitest";
import { mayTakeLease, retentionIntervalMs } from "../../src/artifacts/retention.ts";
import { readSse } from "../http/sse.ts";
import { startNats } from "../support/nats.ts";
import { startTroupes, type TroupeProcess } from "../support/troupe-process.ts";

let base: string;

beforeAll(async () => {
  const nats = await startNats();
  const [troupe] = (await startTroupes(1, nats.url, {
    MAX_CONCURRENT_TASKS: "2",
    RETENTION: "2s",
  })) as [TroupeProcess];
  base = (await troupe.waitForLog("troupe started")).http as string;
});

async function post(path: string, body?: unknown): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
}

async function untilEnded(jobId: string): Promise<void> {
  for await (const _ of readSse(await fetch(`${base}/api/v1/jobs/${jobId}/events`)));
}

describe("retention", () => {
  it("removes a finished job's record, results, artifacts and idempotency key, not a running job's", async () => {
    const quick = {
      model_type: "logistic_regression",
      dataset: { dataset_id: "iris" },
      epochs: 2,
      tasks: 2,
      idempotency_key: "retained-once",
    };
    const done = ((await (await post("/api/v1/jobs", quick)).json()) as { job_id: string }).job_id;
    await untilEnded(done);
    expect((await fetch(`${base}/api/v1/jobs/${done}/download`, { method: "HEAD" })).status).toBe(
      200,
    );
    const running = (
      (await (
        await post("/api/v1/jobs", {
          model_type: "neural_network",
          dataset: { samples: 200_000, features: 40 },
          epochs: 50,
          tasks: 2,
        })
      ).json()) as { job_id: string }
    ).job_id;

    // RETENTION is 2 s: once that has passed since the job ended, the clean-up takes it.
    let counts: Record<string, number> = {};
    await expect
      .poll(
        async () => {
          counts = (await (await post("/api/v1/admin/cleanup")).json()) as Record<string, number>;
          return counts.jobs_removed;
        },
        { timeout: 15_000, interval: 500 },
      )
      .toBe(1);
    expect(counts).toMatchObject({
      artifacts_removed: 4,
      idempotency_keys_removed: 1,
    });
    expect(counts.results_removed).toBeGreaterThanOrEqual(1);
    expect((await fetch(`${base}/api/v1/jobs/${done}`)).status).toBe(404);
    expect((await fetch(`${base}/api/v1/jobs/${done}/download`, { method: "HEAD" })).status).toBe(
      204,
    );
    const again = (await (await post("/api/v1/jobs", quick)).json()) as {
      job_id: string;
      duplicate: boolean;
    };
    expect(again.duplicate).toBe(false);
    expect(again.job_id).not.toBe(done);

    const live = (await (await fetch(`${base}/api/v1/jobs/${running}`)).json()) as {
      status: string;
    };
    expect(["QUEUED", "RUNNING"]).toContain(live.status);
    await post(`/api/v1/jobs/${running}/cancel`);
  }, 90_000);

  it("lets one process hold the clean-up's lease at a time", () => {
    expect(mayTakeLease(undefined, "a", 10)).toBe(true);
    expect(mayTakeLease({ holder: "b", until: 20 }, "a", 10)).toBe(false);
    expect(mayTakeLease({ holder: "b", until: 10 }, "a", 10)).toBe(true);
    expect(mayTakeLease({ holder: "a", until: 20 }, "a", 10)).toBe(true);
    expect(retentionIntervalMs(2_000)).toBe(60_000);
    expect(retentionIntervalMs(48 * 3_600_000)).toBe(3_600_000);
  });
});
