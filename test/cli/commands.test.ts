import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { quickSpec } from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";
import { spawnTroupe, startTroupes } from "../support/troupe-process.ts";

let natsUrl: string;
let workerId: string;
let specPath: string;

beforeAll(async () => {
  const nats = await startNats();
  natsUrl = nats.url;
  const [troupe] = await startTroupes(1, nats.url, { MAX_CONCURRENT_TASKS: "2" });
  workerId = String((await troupe?.waitForLog("troupe started"))?.workerId);
  specPath = join(mkdtempSync(join(tmpdir(), "troupe-cli-")), "quick.yaml");
  writeFileSync(
    specPath,
    "model_type: logistic_regression\ndataset: {samples: 600, features: 8}\nepochs: 3\ntasks: 3\nname: quick\n",
  );
});

/** Runs `troupe <args>` with its output on pipes (not a terminal), as a script would. */
async function troupe(args: string[], env: Record<string, string> = {}) {
  const process = spawnTroupe({ args, env: { NATS_URL: natsUrl, ...env } });
  const { code } = await process.exited;
  return { code, stdout: process.stdout, stderr: process.stderr.split("\n").filter(Boolean) };
}

const jsonLines = (text: string) =>
  text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe("troupe commands with their output piped", () => {
  let jobId: string;

  it("submit --watch --json prints the reply, the job's events and its final record, one JSON a line", async () => {
    const run = await troupe(["submit", specPath, "--watch", "--json"]);
    expect(run.code).toBe(0);
    const lines = jsonLines(run.stdout);
    jobId = String(lines[0]?.job_id);
    expect(lines[0]).toMatchObject({
      job_id: expect.stringMatching(/^job_/),
      total_tasks: 3,
      duplicate: false,
    });
    const events = lines.slice(1, -1);
    expect(events.length).toBeGreaterThan(0);
    for (const event of events) expect(event.job_id).toBe(jobId);
    expect(events.at(-1)).toMatchObject({ type: "job", status: "COMPLETED" });
    expect(lines.at(-1)).toMatchObject({
      type: "end",
      job: { job_id: jobId, status: "COMPLETED", completed_tasks: 3 },
    });
  });

  it("jobs ls --json is the API's reply, for jq; jobs ls is a table", async () => {
    const [json, human] = await Promise.all([
      troupe(["jobs", "ls", "--json"]),
      troupe(["jobs", "ls"]),
    ]);
    expect(json.code).toBe(0);
    const page = JSON.parse(json.stdout) as {
      jobs: { job_id: string; status: string }[];
      next_cursor: null;
    };
    expect(page).toMatchObject({
      jobs: [{ job_id: jobId, status: "COMPLETED" }],
      next_cursor: null,
    });
    expect(human.code).toBe(0);
    const [header, row] = human.stdout.split("\n");
    expect(header).toMatch(
      /^JOB\s+NAME\s+MODEL\s+STATUS\s+TASKS\s+DONE\s+LOSS\s+ACC\s+USER\s+CREATED$/,
    );
    expect(row).toMatch(
      new RegExp(
        `^${jobId}\\s+quick\\s+logistic_regression\\s+COMPLETED\\s+3/3\\s+100%\\s+\\d\\.\\d{4}`,
      ),
    );
    // Not a terminal: no colour.
    expect(human.stdout).not.toContain("\u001b[");
  });

  it("jobs get, workers and queue answer in JSON and in words", async () => {
    const [get, getJson, workers, workersJson, queueJson] = await Promise.all([
      troupe(["jobs", "get", jobId]),
      troupe(["jobs", "get", jobId, "--json"]),
      troupe(["workers"]),
      troupe(["workers", "--json"]),
      troupe(["queue", "--json"]),
    ]);
    expect(get.stdout).toMatch(/^status\s+COMPLETED$/m);
    expect(get.stdout).toMatch(/^tasks\s+3\/3 completed, 0 running, 0 failed, 0 retries$/m);
    expect(JSON.parse(getJson.stdout)).toMatchObject({
      job_id: jobId,
      status: "COMPLETED",
      total_tasks: 3,
    });
    expect(workers.stdout).toMatch(/^1 workers: 1 active, 0 busy$/m);
    expect(workers.stdout).toMatch(new RegExp(`^${workerId}\\s+IDLE\\s+\\S+:\\d+\\s+0/2\\s`, "m"));
    expect(JSON.parse(workersJson.stdout)).toMatchObject({
      total_workers: 1,
      workers: [{ worker_id: workerId }],
    });
    expect(JSON.parse(queueJson.stdout)).toEqual({
      queues: { urgent: 0, high: 0, normal: 0, low: 0 },
      pending: 0,
      running: 0,
    });
  });

  it("refusals are one line and exit 1: a job that has ended cannot be cancelled, an unknown job is not found", async () => {
    const [ended, unknown] = await Promise.all([
      troupe(["jobs", "cancel", jobId]),
      troupe(["jobs", "get", "job_0000000000000000000"]),
    ]);
    expect(ended).toMatchObject({
      code: 1,
      stderr: [`troupe: job '${jobId}' has already ended: it is COMPLETED`],
    });
    expect(unknown).toMatchObject({
      code: 1,
      stderr: ["troupe: no job with job_id 'job_0000000000000000000'"],
    });
  });

  it("a spec the server refuses (the one schema) is bad input: every field named on one line, exit 2", async () => {
    const bad = join(mkdtempSync(join(tmpdir(), "troupe-cli-")), "bad.json");
    writeFileSync(bad, JSON.stringify(quickSpec({ epochs: "many", priority: "asap" })));
    const run = await troupe(["submit", bad]);
    expect(run.code).toBe(2);
    expect(run.stderr).toEqual([
      expect.stringMatching(/^troupe: invalid job spec: .*\/priority: .*\/epochs: /),
    ]);
  });

  it("submit - reads the spec from standard input; without --watch it prints the job id and returns", async () => {
    const run = spawnTroupe({
      args: ["submit", "-"],
      env: { NATS_URL: natsUrl },
      stdin: JSON.stringify(quickSpec()),
    });
    expect((await run.exited).code).toBe(0);
    expect(run.stdout).toMatch(/^submitted job_\w+: 2 tasks, SUBMITTED\n$/);
  });
});
