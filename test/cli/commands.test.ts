import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiClient } from "../support/api-client.ts";
import { recordChild } from "../support/child-registry.ts";
import { freeEmbeddedPort } from "../support/free-port.ts";
import { getJob, longSpec, quickSpec, submit, TERMINAL, waitForJob } from "../support/jobs.ts";
import { spawnTroupe } from "../support/troupe-process.ts";
import { unzip } from "../support/unzip.ts";
import { runInTerminal } from "./support/terminal.ts";

const EXAMPLE = fileURLToPath(new URL("../../examples/mlp.yaml", import.meta.url));
const ESC = "\u001b[";

let env: Record<string, string | undefined>;
let natsUrl: string;
let workerId: string;
let dir: string;
let specPath: string;
let portText: string;
let stop: () => Promise<void> = async () => undefined;
// SIGTERM, not the harness's SIGKILL: a killed troupe would leave its nats-server running.
afterAll(() => stop());

// As the README's quick start: `troupe start` with its embedded nats-server, and the CLI without
// NATS_URL or credentials (the embedded server's anonymous user is the submitter). One process for
// the file: the piped commands first (they expect an idle cluster), then the terminal ones.
beforeAll(async () => {
  const port = await freeEmbeddedPort();
  dir = mkdtempSync(join(tmpdir(), "troupe-cli-"));
  const troupe = spawnTroupe({
    unsetEnv: ["NATS_URL"],
    env: {
      TROUPE_EMBEDDED_PORT: String(port),
      TROUPE_DATA_DIR: dir,
      PORT: "0",
      MAX_CONCURRENT_TASKS: "2",
      // A stop never waits on a long task a failed test left running.
      DRAIN_TIMEOUT: "1s",
    },
  });
  const embedded = await troupe.waitForLog("started embedded nats-server");
  recordChild(embedded.serverPid as number, "embedded nats-server");
  workerId = String((await troupe.waitForLog("troupe started", 60_000)).workerId);
  specPath = join(dir, "quick.yaml");
  writeFileSync(
    specPath,
    "model_type: logistic_regression\ndataset: {samples: 600, features: 8}\nepochs: 3\ntasks: 3\nname: quick\n",
  );
  stop = async () => {
    troupe.signal("SIGTERM");
    await troupe.exited;
  };
  natsUrl = `nats://127.0.0.1:${port}`;
  portText = String(port);
  env = { NATS_URL: undefined, TROUPE_EMBEDDED_PORT: String(port) };
}, 60_000);

function specFile(name: string, spec: Record<string, unknown>): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(spec));
  return path;
}

const taskBar = (index: number) => new RegExp(`^\\s*task ${index} [█░]+\\s+(\\d+)%`);

/** Runs `troupe <args>` with its output on pipes (not a terminal), as a script would. */
async function troupe(args: string[]) {
  const process = spawnTroupe({
    args,
    unsetEnv: ["NATS_URL"],
    env: { TROUPE_EMBEDDED_PORT: portText },
  });
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

  it("refusals are one line and exit 1: a job that has ended cannot be cancelled, an unknown job is not found", async () => {
    const [ended, unknown, paused] = await Promise.all([
      troupe(["jobs", "cancel", jobId]),
      troupe(["jobs", "get", "job_0000000000000000000"]),
      troupe(["jobs", "pause", jobId, "--reason", "too late"]),
    ]);
    expect(paused).toMatchObject({
      code: 1,
      stderr: [
        `troupe: cannot pause job '${jobId}': it is COMPLETED, and only a job that is QUEUED or RUNNING can be`,
      ],
    });
    expect(ended).toMatchObject({
      code: 1,
      stderr: [`troupe: job '${jobId}' has already ended: it is COMPLETED`],
    });
    expect(unknown).toMatchObject({
      code: 1,
      stderr: ["troupe: no job with job_id 'job_0000000000000000000'"],
    });
  });

  it("download writes a completed job's artifacts as a zip; a job without them exits 1 saying why", async () => {
    const file = join(dir, "quick.zip");
    const run = await troupe(["download", jobId, "-o", file]);
    expect(run).toMatchObject({ code: 0, stderr: [] });
    const names = ["history.csv", "metrics.json", "model.json", "spec.json"];
    expect(run.stdout.trim().split(": ")).toEqual([file, expect.any(String)]);
    const files = unzip(readFileSync(file));
    expect([...files.keys()].sort()).toEqual(names);
    expect(JSON.parse(String(files.get("model.json")))).toMatchObject({ format: "troupe-model" });
    expect(JSON.parse(String(files.get("spec.json")))).toMatchObject({ name: "quick" });

    const client = await apiClient(natsUrl);
    const running = await submit(client, longSpec({ tasks: 1 }));
    const early = await troupe(["download", running, "-o", join(dir, "early.zip")]);
    expect(early.code).toBe(1);
    expect(early.stderr).toEqual([
      expect.stringMatching(
        new RegExp(
          `^troupe: job ${running} is (SUBMITTED|QUEUED|RUNNING): its artifacts are ready once it has COMPLETED$`,
        ),
      ),
    ]);
    expect(existsSync(join(dir, "early.zip"))).toBe(false);
    await client.request("troupe.jobs.cancel", { job_id: running });
    expect((await waitForJob(client, running)).status).toBe("CANCELLED");
    const [cancelled, unknown, notAnId] = await Promise.all([
      troupe(["download", running]),
      troupe(["download", "job_0000000000000000000"]),
      troupe(["download", "nope"]),
    ]);
    expect(cancelled).toMatchObject({
      code: 1,
      stderr: [
        `troupe: job ${running} ended CANCELLED without artifacts: there is nothing to download`,
      ],
    });
    expect(unknown).toMatchObject({
      code: 1,
      stderr: ["troupe: no job with job_id 'job_0000000000000000000'"],
    });
    expect(notAnId.code).toBe(2);
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
      unsetEnv: ["NATS_URL"],
      env: { TROUPE_EMBEDDED_PORT: portText },
      stdin: JSON.stringify(quickSpec()),
    });
    expect((await run.exited).code).toBe(0);
    expect(run.stdout).toMatch(/^submitted job_\w+: 2 tasks, SUBMITTED\n$/);
  });
});

describe("troupe submit --watch in a terminal", () => {
  it("draws a bar per task that ends at 100 % with the task's final loss, then the job's outcome, and exits 0", async () => {
    const run = runInTerminal(["submit", EXAMPLE, "--watch"], env);
    // Bars appear while the job runs (not only at the end).
    const running = await run.waitForScreen(
      (lines) => lines.some((line) => /RUNNING/.test(line) && taskBar(0).test(line)),
      "a running task's bar",
    );
    expect(running.some((line) => /^job_\w+ churn-mlp/.test(line))).toBe(true);
    expect(await run.exited).toBe(0);

    const screen = run.screen();
    for (const index of [0, 1, 2, 3]) {
      const bar = screen.find((line) => taskBar(index).test(line));
      expect(bar, `task ${index}'s bar`).toMatch(
        /100%\s+epoch 15\/15\s+loss \d\.\d{4}\s+acc \d+\.\d%\s+COMPLETED/,
      );
    }
    expect(screen.some((line) => /^job_\w+ churn-mlp\s+COMPLETED\s+4\/4 tasks/.test(line))).toBe(
      true,
    );
    expect(screen.at(-1)).toMatch(
      /^✔ job_\w+ COMPLETED in [\d.]+s: 4\/4 tasks, loss \d\.\d{4}, accuracy \d+\.\d%$/,
    );
    // Colour on a terminal; the cursor is given back.
    expect(run.raw()).toContain(`${ESC}32m`);
    expect(run.raw()).toContain(`${ESC}?25h`);
  });

  it("exits 1 with the job's error when the job does not complete (here: it times out)", async () => {
    const file = specFile("too-slow.json", longSpec({ tasks: 2, timeout_s: 1 }));
    const run = runInTerminal(["submit", file, "--watch"], { ...env, NO_COLOR: "1" });
    expect(await run.exited).toBe(1);
    const screen = run.screen();
    expect(screen).toContain(
      "troupe: job " +
        screen.join("\n").match(/job_\w+/)?.[0] +
        " TIMEOUT: job exceeded timeout_s (1 s)",
    );
    expect(
      screen.some((line) =>
        /^✖ job_\w+ TIMEOUT after [\d.]+s: 0\/2 tasks completed, 0 failed$/.test(line),
      ),
    ).toBe(true);
    // NO_COLOR: bars, but no colour.
    expect(screen.some((line) => taskBar(0).test(line))).toBe(true);
    for (const colour of [31, 32, 33, 36]) expect(run.raw()).not.toContain(`${ESC}${colour}m`);
  });

  it("stops watching on Ctrl-C without cancelling the job, and says how to cancel it", async () => {
    const file = specFile("long.json", longSpec({ tasks: 2 }));
    const run = runInTerminal(["submit", file, "--watch"], env);
    const screen = await run.waitForScreen(
      (lines) => lines.some((line) => taskBar(0).test(line) && /epoch [1-9]/.test(line)),
      "a task training",
    );
    const jobId = screen.join("\n").match(/job_\w+/)?.[0] as string;
    run.type("\u0003");
    expect(await run.exited).toBe(130);
    // Its recorded state, which may lag its tasks' (the job actor marks RUNNING on its own time).
    expect(run.screen().slice(-2)).toEqual([
      expect.stringMatching(
        new RegExp(`^Stopped watching ${jobId}: it goes on \\((QUEUED|RUNNING)\\)\\.$`),
      ),
      `Cancel it with: troupe jobs cancel ${jobId}`,
    ]);
    const client = await apiClient(natsUrl);
    expect(TERMINAL).not.toContain((await getJob(client, jobId)).status);

    // As the line says: cancelling it ends it.
    const cancel = runInTerminal(["jobs", "cancel", jobId], env);
    expect(await cancel.exited).toBe(0);
    expect(cancel.screen()).toEqual([expect.stringMatching(new RegExp(`^cancelled ${jobId} `))]);
    expect((await waitForJob(client, jobId)).status).toBe("CANCELLED");
  });
});
