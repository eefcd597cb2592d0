import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTroupe, type TroupeBuild } from "../../bench/support/build.ts";
import { apiClient } from "../support/api-client.ts";
import { quickSpec, submit, waitForJob } from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";
import { spawnTroupe } from "../support/troupe-process.ts";

let build: TroupeBuild;
beforeAll(async () => {
  build = await buildTroupe(); // what `npm run build` writes to dist/bundle/
});
afterAll(() => build?.dispose());

describe("the bundled build (node dist/bundle/troupe.js)", () => {
  it("starts, trains a job in its pool threads, and serves HTTP with its API docs", async () => {
    const nats = await startNats();
    const troupe = spawnTroupe({ entry: build.entry, env: { NATS_URL: nats.url, PORT: "0" } });
    const base = (await troupe.waitForLog("troupe started")).http as string;

    const client = await apiClient(nats.url);
    const jobId = await submit(client, quickSpec({ tasks: 3 }));
    const job = await waitForJob(client, jobId);
    expect(job).toMatchObject({ status: "COMPLETED", total_tasks: 3, completed_tasks: 3 });
    expect(job.metrics.accuracy).toBeGreaterThan(0.5);

    // The packages left outside the bundle resolve: Swagger UI serves its own static files.
    const docs = await fetch(`${base}/docs/static/swagger-ui-bundle.js`);
    expect(docs.status).toBe(200);
    const bad = await fetch(`${base}/api/v1/jobs`, {
      method: "POST",
      headers: { "content-type": "application/yaml" },
      body: "model_type: [",
    });
    expect(bad.status).toBe(400);

    troupe.signal("SIGTERM");
    expect(await troupe.exited).toEqual({ code: 0, signal: null });
  });

  it("prints its version from the package.json beside the build", () => {
    const run = spawnSync(process.execPath, [build.entry, "--version"], { encoding: "utf8" });
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe(pkg.version);
  });
});
