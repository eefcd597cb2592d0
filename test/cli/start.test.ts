import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isAlive, recordChild } from "../support/child-registry.ts";
import { startNats } from "../support/nats.ts";
import { spawnTroupe } from "../support/troupe-process.ts";

/** Rejects when `promise` takes longer than `ms` — for the contract's explicit bounds only. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

// A private network namespace where nothing listens on the default NATS URL (127.0.0.1:4222),
// as on a fresh laptop; this machine's own NATS stays out of reach.
const FRESH_NETWORK = ["unshare", "-rn", "sh", "-c", 'ip link set lo up && exec "$0" "$@"'];

describe("troupe start", () => {
  it("with no NATS_URL and nothing listening starts an embedded nats-server and leaves no child on SIGTERM", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "troupe-data-"));
    const troupe = spawnTroupe({
      unsetEnv: ["NATS_URL"],
      env: { TROUPE_DATA_DIR: dataDir },
      wrapper: FRESH_NETWORK,
    });
    const embedded = await troupe.waitForLog("started embedded nats-server");
    expect(embedded.url).toBe("nats://127.0.0.1:4222");
    expect(embedded.storeDir).toBe(join(dataDir, "nats"));
    const serverPid = embedded.serverPid as number;
    recordChild(serverPid, "embedded nats-server");
    expect(await troupe.waitForLog("connected to NATS")).toMatchObject({
      server: "127.0.0.1:4222",
      serverName: expect.stringMatching(/^troupe-embedded-/),
      embedded: "started",
    });
    const started = await troupe.waitForLog("troupe started");
    expect(started.natsUrl).toBe("nats://127.0.0.1:4222");

    troupe.signal("SIGTERM");
    const exit = await within(troupe.exited, 5_000, "exit after SIGTERM");
    expect(exit).toEqual({ code: 0, signal: null });
    expect(isAlive(serverPid)).toBe(false);
  });

  it("connects to the NATS_URL it is given, says which server that is, and exits 0 on SIGINT", async () => {
    const nats = await startNats({ args: ["-n", "lab-nats"] });
    const troupe = spawnTroupe({ env: { NATS_URL: nats.url } });
    const started = await troupe.waitForLog("troupe started");
    expect(started.natsUrl).toBe(nats.url);
    expect(await troupe.waitForLog("connected to NATS")).toMatchObject({
      server: `127.0.0.1:${nats.port}`,
      serverName: "lab-nats",
      serverVersion: expect.stringMatching(/^\d+\.\d+\.\d+/),
      embedded: false,
    });
    expect(troupe.logs.some((line) => line.msg === "started embedded nats-server")).toBe(false);
    // Each field once: a duplicated key would be lost by a JSON parser, so read the raw text.
    const httpLines = troupe.stdout
      .split("\n")
      .filter((text) => text.includes('"component":"http"'));
    expect(httpLines.length).toBeGreaterThan(0);
    for (const text of httpLines) expect(text.split('"component":').length).toBe(2);

    troupe.signal("SIGINT");
    expect(await troupe.exited).toEqual({ code: 0, signal: null });
  });

  it("waits for an explicit NATS_URL that is down, and still stops cleanly on SIGTERM", async () => {
    const nats = await startNats();
    await nats.stop();
    const troupe = spawnTroupe({ env: { NATS_URL: nats.url } });
    const retry = await troupe.waitForLog("NATS unreachable; retrying");
    expect(retry.hint).toContain("NATS_URL is set, so no embedded nats-server is started");
    troupe.signal("SIGTERM");
    expect(await troupe.exited).toEqual({ code: 0, signal: null });
  });

  it("with no NATS_URL, joins another NATS server answering at the embedded address and says it is not the embedded one", async () => {
    const nats = await startNats({ args: ["-n", "someone-elses-nats"] });
    const troupe = spawnTroupe({
      unsetEnv: ["NATS_URL"],
      env: {
        TROUPE_DATA_DIR: mkdtempSync(join(tmpdir(), "troupe-data-")),
        TROUPE_EMBEDDED_PORT: String(nats.port),
        PORT: "0",
      },
    });
    const warning = await troupe.waitForLog((line) =>
      line.msg.includes("a NATS server that is not this data dir's embedded one answers"),
    );
    expect(warning.serverName).toBe("someone-elses-nats");
    expect(await troupe.waitForLog("connected to NATS")).toMatchObject({
      serverName: "someone-elses-nats",
      embedded: false,
    });
    await troupe.waitForLog("troupe started");
    expect(troupe.logs.some((line) => line.msg === "started embedded nats-server")).toBe(false);
    troupe.signal("SIGTERM");
    expect(await troupe.exited).toEqual({ code: 0, signal: null });
  });

  it("refuses a bad variable before doing anything, naming it, with exit code 2", async () => {
    const troupe = spawnTroupe({ env: { HEARTBEAT_INTERVAL: "often" } });
    expect(await troupe.exited).toEqual({ code: 2, signal: null });
    expect(troupe.stderr).toContain('HEARTBEAT_INTERVAL="often" is invalid');
    expect(troupe.logs).toEqual([]);
  });

  it("answers an unknown command or flag with usage and exit code 2", async () => {
    const command = spawnTroupe({ args: ["launch"] });
    const flag = spawnTroupe({ args: ["start", "--fast"] });
    expect(await command.exited).toEqual({ code: 2, signal: null });
    expect(command.stderr).toContain("unknown command 'launch'");
    expect(await flag.exited).toEqual({ code: 2, signal: null });
    expect(flag.stderr).toContain("'--fast'");
  });
});
