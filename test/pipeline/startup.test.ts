import { readdirSync, readFileSync } from "node:fs";
import { Kvm } from "@nats-io/kv";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { createRuntime, type Runtime } from "../../src/runtime.ts";
import { apiClient } from "../support/api-client.ts";
import { quickSpec, submit, waitForJob } from "../support/jobs.ts";
import { type NatsServer, startNats } from "../support/nats.ts";

type LogLine = Record<string, unknown>;

interface FrozenStart {
  runtime: Runtime;
  started: Promise<void>;
  /** The worker's registration line. */
  registered: LogLine;
  /** The first retry line, logged just before start-up pauses for it. */
  retry: LogLine;
}

/**
 * Starts a runtime in this test process and freezes its nats-server (SIGSTOP) the moment the
 * worker registered: the log is written synchronously, here, so the freeze lands before the next
 * start-up step asks NATS anything — that request then goes unanswered, as during a NATS restart.
 * Resolves once start-up logged its retry (the server is still frozen then).
 */
async function startFrozenHalfWay(nats: NatsServer): Promise<FrozenStart> {
  const config = loadConfig({ NATS_URL: nats.url, PORT: "0", LOG_LEVEL: "info" });
  let registered: LogLine | undefined;
  let onRetry: ((line: LogLine) => void) | undefined;
  const retried = new Promise<LogLine>((resolve) => {
    onRetry = resolve;
  });
  const log = pino(
    { level: "info" },
    {
      write(text: string) {
        const line = JSON.parse(text) as LogLine;
        if (line.msg === "worker registered" && !registered) {
          registered = line;
          freeze(nats.pid);
        }
        if (line.msg === "NATS did not answer a start-up step; retrying") onRetry?.(line);
      },
    },
  );
  const runtime = createRuntime({ config, log });
  const started = runtime.start();
  const retry = await Promise.race([
    retried,
    started.then(() => {
      throw new Error("start-up ended without meeting the frozen server");
    }),
  ]);
  if (!registered) throw new Error("start-up retried before the worker registered");
  return { runtime, started, registered, retry };
}

/**
 * SIGSTOP, then waits (synchronously) until every thread of the process has stopped: a thread
 * running on the other core would otherwise still answer a request sent right after the signal.
 */
function freeze(pid: number): void {
  process.kill(pid, "SIGSTOP");
  const threads = readdirSync(`/proc/${pid}/task`);
  const stopped = (tid: string) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    // The state follows the command name, which is in parentheses.
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("T");
  };
  while (!threads.every(stopped));
}

describe("start-up", () => {
  it("waits out a NATS server that stops answering half-way, then starts and runs jobs", async () => {
    const nats = await startNats();
    const { runtime, started, retry } = await startFrozenHalfWay(nats);
    try {
      expect(retry).toMatchObject({ step: "take jobs", reason: "timeout" });
      process.kill(nats.pid, "SIGCONT");
      await started;

      const client = await apiClient(nats.url);
      const jobId = await submit(client, quickSpec());
      expect((await waitForJob(client, jobId)).status).toBe("COMPLETED");
    } finally {
      process.kill(nats.pid, "SIGCONT");
      await runtime.close();
    }
  }, 60_000);

  it("stops when told to while it waits for NATS, leaving no worker registered behind", async () => {
    const nats = await startNats();
    const { runtime, started, registered } = await startFrozenHalfWay(nats);
    process.kill(nats.pid, "SIGCONT");
    // A SIGTERM now: start-up is in its pause before the next try.
    await runtime.close();
    await expect(started).rejects.toThrow(/abort/i);

    const client = await apiClient(nats.url);
    const workers = await new Kvm(client.nc).open("troupe_workers");
    expect(await workers.get(String(registered.workerId))).toMatchObject({ operation: "DEL" });
  }, 60_000);
});
