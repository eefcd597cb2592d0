import { describe, expect, it } from "vitest";
import { apiClient } from "../support/api-client.ts";
import { quickSpec, submit } from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";
import { startTroupes } from "../support/troupe-process.ts";

describe("supervision at the root", () => {
  it("stops troupe with a non-zero exit when worker crashes exceed the restart intensity", async () => {
    const nats = await startNats();
    // Every worker actor crashes on every task: restarts pile up until supervision gives up.
    const [troupe] = await startTroupes(1, nats.url, {
      MAX_CONCURRENT_TASKS: "1",
      TROUPE_FAULTS: "worker=1",
    });
    if (!troupe) throw new Error("no troupe process");
    const client = await apiClient(nats.url);
    await submit(
      client,
      quickSpec({ tasks: 40, retry_policy: { max_attempts: 100, backoff_ms: 0 } }),
    );

    const exit = await troupe.exited;
    expect(exit.code).toBe(1);
    expect(troupe.logs.some((line) => line.msg === "supervision gave up at the root")).toBe(true);
    expect(troupe.logs.some((line) => line.msg === "stopped on a fatal error")).toBe(true);
  });
});
