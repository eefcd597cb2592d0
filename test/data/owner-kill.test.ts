import { describe, expect, it } from "vitest";
import { startNats } from "../support/nats.ts";
import { startTroupes } from "../support/troupe-process.ts";

describe("artifacts across an owner's death", () => {
  it("are completed by the next owner when the writing process is killed half-way: one set", async () => {
    const nats = await startNats();
    // TROUPE_FAULTS artifacts=1x: this process kills itself (SIGKILL) after the first artifact.
    const [first] = await startTroupes(1, nats.url, { TROUPE_FAULTS: "artifacts=1x" });
    const firstUrl = (await first?.waitForLog("troupe started"))?.http as string;
    const submitted = await fetch(`${firstUrl}/api/v1/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model_type: "random_forest",
        dataset: { dataset_id: "iris", seed: 1 },
        hyperparameters: { n_trees: 5 },
        tasks: 2,
      }),
    });
    const { job_id } = (await submitted.json()) as { job_id: string };
    // Killed by its own SIGKILL while writing, not ended by some other fault.
    expect(await first?.exited).toEqual({ code: null, signal: "SIGKILL" });

    const [second] = await startTroupes(1, nats.url);
    const url = (await second?.waitForLog("troupe started"))?.http as string;
    await expect
      .poll(
        async () =>
          (await fetch(`${url}/api/v1/jobs/${job_id}/download`, { method: "HEAD" })).status,
        {
          timeout: 20_000,
          interval: 200,
        },
      )
      .toBe(200);
    const listed = (await (await fetch(`${url}/api/v1/jobs/${job_id}/artifacts`)).json()) as {
      artifacts: { name: string }[];
    };
    expect(listed.artifacts.map((a) => a.name).sort()).toEqual([
      "history.csv",
      "metrics.json",
      "model.json",
      "spec.json",
    ]);
    const record = (await (await fetch(`${url}/api/v1/jobs/${job_id}`)).json()) as {
      status: string;
      metrics: { accuracy: number };
    };
    expect(record.status).toBe("COMPLETED");
    const metrics = (await (
      await fetch(`${url}/api/v1/jobs/${job_id}/artifacts/metrics.json`)
    ).json()) as { accuracy: number };
    expect(metrics.accuracy).toBe(record.metrics.accuracy);
  }, 90_000);
});
