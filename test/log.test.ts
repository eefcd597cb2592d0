import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const BURST = fileURLToPath(new URL("./fixtures/log-burst.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "troupe-log-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the burst in its own process (the logger's streams close with it) and reads stdout. */
function burst(env: Record<string, string>): string[] {
  const run = spawnSync(process.execPath, ["--import", "tsx", BURST], {
    env: { ...process.env, LOG_PRETTY: "0", ...env },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  expect(run.status, run.stderr).toBe(0);
  return run.stdout.split("\n").filter((line) => line !== "");
}

describe("log files (LOG_FILE, LOG_MAX_BYTES, LOG_BACKUP_COUNT, as seed 003 has them)", () => {
  it("rotates a busy run's log into at most three files under the limit, every line still on stdout", () => {
    const logs = join(dir, "busy");
    const lines = 4_000; // ~1.1 MB of JSON lines: eleven files' worth at 100 kB
    const stdout = burst({
      LOG_FILE: join(logs, "orchestrator.log"),
      LOG_MAX_BYTES: "100000",
      LOG_BACKUP_COUNT: "2",
      LINES: String(lines),
    });
    expect(stdout.filter((l) => l.includes('"msg":"busy"'))).toHaveLength(lines);

    const files = readdirSync(logs).sort();
    expect(files).toEqual(["orchestrator.log", "orchestrator.log.1", "orchestrator.log.2"]);
    for (const file of files) expect(statSync(join(logs, file)).size).toBeLessThan(100_000);
    // The files hold the newest lines, in order, each one a line stdout has too.
    const kept = ["orchestrator.log.2", "orchestrator.log.1", "orchestrator.log"]
      .flatMap((file) => readFileSync(join(logs, file), "utf8").split("\n"))
      .filter((l) => l !== "");
    expect(kept.at(-1)).toBe(stdout.at(-1));
    expect(stdout.slice(-kept.length)).toEqual(kept);
  });

  it("appends to the file a restarted process left, and logs by the level named in any case", () => {
    const logs = join(dir, "levels");
    const env = { LOG_FILE: join(logs, "troupe.log"), LOG_LEVEL: "WARNING", LINES: "10" };
    expect(burst(env)).toEqual([]); // info lines are below WARNING
    const info = burst({ ...env, LOG_LEVEL: "INFO" });
    burst({ ...env, LOG_LEVEL: "INFO" });
    expect(info).toHaveLength(10);
    const written = readFileSync(join(logs, "troupe.log"), "utf8").trim().split("\n");
    expect(written).toHaveLength(20);
  });
});
