import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { apiClient } from "../support/api-client.ts";
import { isAlive, recordChild } from "../support/child-registry.ts";
import { freeEmbeddedPort } from "../support/free-port.ts";
import { quickSpec, submit, waitForJob } from "../support/jobs.ts";
import { spawnTroupe, type TroupeProcess } from "../support/troupe-process.ts";

describe("two troupe processes on the embedded nats-server (NATS_URL unset, one data dir)", () => {
  it("keep working while the process that started the server is restarted twice: the other starts it again, same store, same credentials", async () => {
    const port = await freeEmbeddedPort();
    const env = {
      TROUPE_DATA_DIR: mkdtempSync(join(tmpdir(), "troupe-data-")),
      TROUPE_EMBEDDED_PORT: String(port),
      PORT: "0",
      HEARTBEAT_INTERVAL: "500ms",
      WORKER_TIMEOUT: "3s",
    };
    const launch = () => spawnTroupe({ unsetEnv: ["NATS_URL"], env });
    const serverPids: number[] = [];
    const startedServer = async (troupe: TroupeProcess) => {
      const line = await troupe.waitForLog("started embedded nats-server");
      serverPids.push(line.serverPid as number);
      recordChild(line.serverPid as number, "embedded nats-server");
    };
    const connected = (troupe: TroupeProcess) => troupe.waitForLog("connected to NATS");

    const first = launch();
    await startedServer(first);
    expect((await connected(first)).embedded).toBe("started");
    await first.waitForLog("troupe started");
    const second = launch();
    expect((await connected(second)).embedded).toBe("joined");
    await second.waitForLog("troupe started");

    // The first stops, and the server it started stops with it: the second starts it again.
    first.signal("SIGTERM");
    expect(await first.exited).toEqual({ code: 0, signal: null });
    await startedServer(second);
    await second.waitForLog("reconnected to NATS");
    // A plain client (the submitter) submits while only the second runs.
    const client = await apiClient(`nats://127.0.0.1:${port}`);
    const jobId = await submit(client, quickSpec({ tasks: 4 }));

    // Restarted, the first joins the server the second now runs (the credentials are the same);
    // stopped and started once more, it leaves that server alone.
    const again = launch();
    expect((await connected(again)).embedded).toBe("joined");
    await again.waitForLog("troupe started");
    again.signal("SIGTERM");
    expect(await again.exited).toEqual({ code: 0, signal: null });
    const third = launch();
    expect((await connected(third)).embedded).toBe("joined");
    await third.waitForLog("troupe started");

    expect((await waitForJob(client, jobId)).status).toBe("COMPLETED");
    expect(isAlive(second.pid)).toBe(true);
    expect(second.logs.filter((line) => line.level >= 60)).toEqual([]);

    third.signal("SIGTERM");
    second.signal("SIGTERM");
    expect(await third.exited).toEqual({ code: 0, signal: null });
    expect(await second.exited).toEqual({ code: 0, signal: null });
    for (const pid of serverPids) expect(isAlive(pid)).toBe(false);
  }, 120_000);
});
