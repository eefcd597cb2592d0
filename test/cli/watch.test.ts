import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiClient } from "../support/api-client.ts";
import { recordChild } from "../support/child-registry.ts";
import { freeEmbeddedPort } from "../support/free-port.ts";
import { getJob, longSpec, TERMINAL, waitForJob } from "../support/jobs.ts";
import { spawnTroupe } from "../support/troupe-process.ts";
import { runInTerminal } from "./support/terminal.ts";

const EXAMPLE = fileURLToPath(new URL("../../examples/mlp.yaml", import.meta.url));
const ESC = "\u001b[";

let env: Record<string, string | undefined>;
let natsUrl: string;
let dir: string;
let stop: () => Promise<void> = async () => undefined;
// SIGTERM, not the harness's SIGKILL: a killed troupe would leave its nats-server running.
afterAll(() => stop());

// As the README's quick start: `troupe start` with its embedded nats-server, and the CLI without
// NATS_URL or credentials (the embedded server's anonymous user is the submitter).
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
  await troupe.waitForLog("troupe started", 60_000);
  stop = async () => {
    troupe.signal("SIGTERM");
    await troupe.exited;
  };
  natsUrl = `nats://127.0.0.1:${port}`;
  env = { NATS_URL: undefined, TROUPE_EMBEDDED_PORT: String(port) };
}, 60_000);

function specFile(name: string, spec: Record<string, unknown>): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(spec));
  return path;
}

const taskBar = (index: number) => new RegExp(`^\\s*task ${index} [█░]+\\s+(\\d+)%`);

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
