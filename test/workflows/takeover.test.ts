import { describe, expect, it } from "vitest";
import { apiClient } from "../support/api-client.ts";
import { quickSpec } from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";
import { startTroupes } from "../support/troupe-process.ts";
import { submitWorkflow, type Workflow, waitForWorkflow } from "../support/workflows.ts";

describe("a workflow's driver killed with SIGKILL", () => {
  it("moves to another process, twice, and the workflow completes with every step's job exactly once", async () => {
    const nats = await startNats();
    const troupes = await startTroupes(3, nats.url, { MAX_CONCURRENT_TASKS: "2" });
    const client = await apiClient(nats.url);
    const steps = Array.from({ length: 10 }, (_, i) => ({
      step_id: `s${i}`,
      job: quickSpec({ tasks: 1, epochs: 6, dataset: { samples: 3000, features: 8, seed: i } }),
      ...(i > 0 ? { depends_on: [`s${i - 1}`] } : {}),
    }));
    const id = await submitWorkflow(client, { workflow_name: "chain_of_ten", steps });

    const killed: number[] = [];
    const killDriverOnceAt = async (step: number) => {
      const driven = await waitForWorkflow(
        client,
        id,
        60_000,
        (w) =>
          w.driver !== null &&
          !killed.includes(w.driver.pid) &&
          (w.steps[step]?.job_id ?? null) !== null,
      );
      const pid = (driven.driver as NonNullable<Workflow["driver"]>).pid;
      const victim = troupes.find((t) => t.pid === pid);
      expect(victim).toBeDefined();
      victim?.signal("SIGKILL");
      killed.push(pid);
      await victim?.exited;
    };
    await killDriverOnceAt(2);
    await killDriverOnceAt(5);

    const done = await waitForWorkflow(client, id, 120_000);
    expect(done.status).toBe("COMPLETED");
    expect(done.steps.every((s) => s.status === "COMPLETED")).toBe(true);
    expect(killed).toHaveLength(2);
    expect(killed).not.toContain(done.driver?.pid);

    // Every job of this workflow, counted by its idempotency key <workflow_id>/<step_id>.
    const listed = await client.request<{ jobs: { spec: { idempotency_key?: string } }[] }>(
      "troupe.jobs.list",
      { limit: 1000 },
    );
    const perStep = new Map<string, number>();
    for (const job of listed.body.jobs) {
      const key = job.spec.idempotency_key;
      if (key?.startsWith(`${id}/`)) perStep.set(key, (perStep.get(key) ?? 0) + 1);
    }
    expect(Object.fromEntries(perStep)).toEqual(
      Object.fromEntries(steps.map((s) => [`${id}/${s.step_id}`, 1])),
    );
  }, 120_000);
});
