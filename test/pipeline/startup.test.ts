import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { createRuntime } from "../../src/runtime.ts";
import { apiClient } from "../support/api-client.ts";
import { quickSpec, submit, waitForJob } from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";

describe("start-up", () => {
  it("waits out a NATS server that stops answering half-way, then starts and runs jobs", async () => {
    const nats = await startNats();
    const config = loadConfig({ NATS_URL: nats.url, PORT: "0", LOG_LEVEL: "info" });
    let paused = false;
    let onRetry: ((line: Record<string, unknown>) => void) | undefined;
    const retried = new Promise<Record<string, unknown>>((resolve) => {
      onRetry = resolve;
    });
    // The process runs in this test, so its log is written synchronously, here: the server is
    // frozen (SIGSTOP) the moment the worker registered, before the next start-up step asks it
    // anything — that step's request then goes unanswered, as during a NATS restart.
    const log = pino(
      { level: "info" },
      {
        write(text: string) {
          const line = JSON.parse(text) as Record<string, unknown>;
          if (line.msg === "worker registered" && !paused) {
            paused = true;
            process.kill(nats.pid, "SIGSTOP");
          }
          if (line.msg === "NATS did not answer a start-up step; retrying") onRetry?.(line);
        },
      },
    );
    const runtime = createRuntime({ config, log });
    try {
      const started = runtime.start();
      const retry = await Promise.race([
        retried,
        started.then(() => {
          throw new Error("start-up ended without meeting the frozen server");
        }),
      ]);
      expect(retry).toMatchObject({ step: "take jobs", reason: "timeout" });
      process.kill(nats.pid, "SIGCONT");
      await started;

      const client = await apiClient(nats.url);
      const jobId = await submit(client, quickSpec());
      expect((await waitForJob(client, jobId)).status).toBe("COMPLETED");
    } finally {
      if (paused) process.kill(nats.pid, "SIGCONT");
      await runtime.close();
    }
  }, 60_000);
});
