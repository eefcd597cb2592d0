import { describe, expect, it } from "vitest";
import { type WorkerRecord, workerFate } from "../../src/workers/worker-record.ts";

const HEARTBEAT_MS = 5_000;
const WORKER_TIMEOUT_MS = 60_000;

/** The fate of a record last heard of `ageMs` ago; `heartbeat` null: written without one. */
function lastSeen(ageMs: number, heartbeat: number | null = HEARTBEAT_MS) {
  const record = {
    status: "BUSY",
    last_activity_time: new Date(1_000_000 - ageMs).toISOString(),
    ...(heartbeat === null ? {} : { heartbeat_interval_ms: heartbeat }),
  } as WorkerRecord;
  return workerFate(record, 1_000_000, WORKER_TIMEOUT_MS);
}

describe("a worker's fate by the age of its last heartbeat", () => {
  it("is live through one missed heartbeat, stale after two, gone after WORKER_TIMEOUT", () => {
    expect(lastSeen(HEARTBEAT_MS + 1)).toBe("live");
    expect(lastSeen(2 * HEARTBEAT_MS)).toBe("live");
    expect(lastSeen(2 * HEARTBEAT_MS + 1)).toBe("stale");
    expect(lastSeen(WORKER_TIMEOUT_MS)).toBe("stale");
    expect(lastSeen(WORKER_TIMEOUT_MS + 1)).toBe("gone");
  });

  it("goes by WORKER_TIMEOUT alone for a worker that did not say its heartbeat (an older version)", () => {
    expect(lastSeen(2 * HEARTBEAT_MS + 1, null)).toBe("live");
    expect(lastSeen(WORKER_TIMEOUT_MS, null)).toBe("live");
    expect(lastSeen(WORKER_TIMEOUT_MS + 1, null)).toBe("gone");
  });
});
