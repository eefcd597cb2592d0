import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { JOB_STATES } from "../../src/jobs/job-state.ts";
import { freePort } from "../support/free-port.ts";
import { startNats } from "../support/nats.ts";
import { spawnTroupe } from "../support/troupe-process.ts";

const dir = mkdtempSync(join(tmpdir(), "troupe-cli-bad-"));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Runs `troupe <args>`; resolves with its exit code, stderr lines and stdout. */
async function troupe(args: string[], env: Record<string, string> = {}) {
  // Nothing listens here: a command that tried to connect would fail with 3, not 2.
  const process = spawnTroupe({ args, env: { NATS_URL: unreachable, ...env } });
  const { code } = await process.exited;
  return { code, stderr: process.stderr.split("\n").filter(Boolean), stdout: process.stdout };
}
const unreachable = `nats://127.0.0.1:${await freePort()}`;

describe.concurrent("bad input on every door: one line naming the problem, exit code 2", () => {
  it.each([
    [["submit", "x.yaml", "--wach"], "troupe: unknown option '--wach' (Did you mean --watch?)"],
    [
      ["jobs", "ls", "--limit", "0"],
      "troupe: option '-n, --limit <n>' argument '0' is invalid. expected a whole number from 1 to 1000",
    ],
    [
      ["jobs", "ls", "--status", "DONE"],
      `troupe: option '--status <state>' argument 'DONE' is invalid. Allowed choices are ${JOB_STATES.join(", ")}.`,
    ],
    [["submit"], "troupe: missing required argument 'file'"],
    [["deploy"], "troupe: unknown command 'deploy'"],
  ])("flags: troupe %j", async (args, line) => {
    const run = await troupe(args);
    expect(run).toMatchObject({ code: 2, stderr: [line] });
  });

  it.each([
    ["missing.yaml", undefined, "cannot read {file}: no such file"],
    [
      "broken.yaml",
      "name: a\n  tasks: 4\n",
      "{file} is not valid JSON or YAML: line 1, column 7: Nested mappings are not allowed in compact mappings",
    ],
    [
      "list.yaml",
      "- model_type: xgboost\n",
      "{file} holds a list: expected one job spec, a mapping of its fields",
    ],
    ["empty.json", "  \n", "{file} is empty: expected one job spec (JSON or YAML)"],
  ])("files: %s", async (name, text, message) => {
    const path = text === undefined ? join(dir, name) : file(name, text);
    const run = await troupe(["submit", path, "--watch"]);
    expect(run).toMatchObject({ code: 2, stderr: [`troupe: ${message.replace("{file}", path)}`] });
  });

  it("variables and connection flags, named as given", async () => {
    const fromEnv = await troupe(["queue"], { NATS_URL: "bogus://nowhere" });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toEqual([
      expect.stringMatching(
        /^troupe: NATS_URL="bogus:\/\/nowhere" is invalid: expected comma-separated NATS URLs/,
      ),
    ]);
    const fromFlag = await troupe(["workers", "--server", "bogus://nowhere"]);
    expect(fromFlag.code).toBe(2);
    expect(fromFlag.stderr).toEqual([
      expect.stringMatching(
        /^troupe: --server="bogus:\/\/nowhere" is invalid: expected comma-separated NATS URLs/,
      ),
    ]);
  });
});

describe.concurrent("no Troupe to talk to: one line saying why, exit code 3", () => {
  it("nothing listens at the NATS address", async () => {
    const run = await troupe(["jobs", "ls"]);
    expect(run.code).toBe(3);
    expect(run.stderr).toEqual([
      expect.stringMatching(new RegExp(`^troupe: cannot reach NATS at ${unreachable}: `)),
    ]);
  });

  it("NATS answers but no troupe process serves the API", async () => {
    const nats = await startNats();
    const run = await troupe(["queue"], { NATS_URL: nats.url });
    expect(run.code).toBe(3);
    expect(run.stderr).toEqual([
      expect.stringMatching(
        /^troupe: no troupe process answers troupe\.queue\.status on NATS at 127\.0\.0\.1:\d+ \(is `troupe start` running/,
      ),
    ]);
  });
});
