import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type ApiClient, apiClient } from "../support/api-client.ts";
import { quickSpec } from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";
import { spawnTroupe, startTroupes } from "../support/troupe-process.ts";
import { waitForWorkflow } from "../support/workflows.ts";

let natsUrl: string;
let client: ApiClient;
let dir: string;

beforeAll(async () => {
  const nats = await startNats();
  natsUrl = nats.url;
  await startTroupes(1, natsUrl);
  client = await apiClient(natsUrl);
  dir = mkdtempSync(join(tmpdir(), "troupe-cli-wf-"));
}, 60_000);

async function troupe(args: string[]) {
  const child = spawnTroupe({ args, env: { NATS_URL: natsUrl } });
  const { code } = await child.exited;
  return { code, stdout: child.stdout, stderr: child.stderr };
}

describe("troupe workflows", () => {
  it("submits a workflow from a file and shows it, step by step", async () => {
    const file = join(dir, "wf.json");
    writeFileSync(
      file,
      JSON.stringify({
        workflow_name: "cli_pipeline",
        steps: [
          { step_id: "first", job: quickSpec({ tasks: 1 }) },
          { step_id: "second", job: quickSpec({ tasks: 1 }), depends_on: ["first"] },
        ],
      }),
    );
    const submitted = await troupe(["workflows", "submit", file, "--json"]);
    expect(submitted.code).toBe(0);
    const { workflow_id: id } = JSON.parse(submitted.stdout) as { workflow_id: string };
    await waitForWorkflow(client, id);
    const shown = await troupe(["workflows", "get", id]);
    expect(shown.code).toBe(0);
    const lines = shown.stdout.split("\n");
    expect(lines[0]).toMatch(new RegExp(`^${id}\\s+cli_pipeline\\s+COMPLETED`));
    expect(shown.stdout).toMatch(/first\s+COMPLETED\s+job_/);
    expect(shown.stdout).toMatch(/second\s+COMPLETED\s+job_\w+\s+\S+\s+first/);
  }, 90_000);

  it("names what is wrong with a workflow the server refuses, and exits non-zero", async () => {
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "workflow_name: bad\nsteps:\n  - step_id: a\n    job_template: nope\n");
    const refused = await troupe(["workflows", "submit", file]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("/steps/0/job_template: no template 'nope'");
  });
});
