import { jetstream } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { unpack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { newJobId } from "../../src/jobs/job-record.ts";
import { validateTrainingSpec } from "../../src/training/training-spec.ts";
import { ensureTopology } from "../../src/transport/streams.ts";
import { names } from "../../src/transport/subjects.ts";
import {
  type ChunkRecord,
  encodeChunk,
  type TaskOutcome,
} from "../../src/workers/chunk-message.ts";
import { apiClient } from "../support/api-client.ts";
import { startNats } from "../support/nats.ts";
import { startTroupes } from "../support/troupe-process.ts";

const n = names("troupe");

describe("a task whose lease keeps running out", () => {
  it("is failed with the reason after more than 10 stalls, not retried for ever", async () => {
    const nats = await startNats();
    const client = await apiClient(nats.url);
    await ensureTopology(client.nc, n, { replicas: 1, leaseMs: 625, jobLeaseMs: 1500 });
    const jobId = newJobId();
    const spec = validateTrainingSpec({
      model_type: "logistic_regression",
      dataset: { samples: 600, features: 8, seed: 1 },
      epochs: 1,
      tasks: 1,
    });
    if (!spec.ok) throw new Error("the test's spec is invalid");
    await jetstream(client.nc).publish(
      n.internal.task("normal", jobId),
      encodeChunk({
        job_id: jobId,
        chunk: 0,
        tasks: [0],
        priority: "normal",
        user_id: "stalls",
        spec: spec.value,
        max_attempts: 3,
        backoff_ms: 10,
      }),
    );
    // Eleven deliveries end with no failure and no hand-back counted: as if eleven processes had
    // each died holding it (a nak stands in for the lapsed lease).
    const lane = await jetstream(client.nc).consumers.get(n.tasksStream, n.laneConsumer("normal"));
    for (let i = 0; i < 11; i++) {
      const msg = await lane.next({ expires: 5_000 });
      expect(msg?.info.deliveryCount).toBe(i + 1);
      msg?.nak();
    }

    await startTroupes(1, nats.url);
    const results = await new Kvm(client.nc).open(n.buckets.results);
    const watch = await results.watch({ key: `${jobId}.0.0` });
    let outcome: TaskOutcome | undefined;
    for await (const entry of watch) {
      outcome = (unpack(entry.value) as ChunkRecord).outcomes[0];
      break;
    }
    expect(outcome?.status).toBe("FAILED");
    // The twelfth delivery fails it; on a loaded machine the new process may itself let that
    // delivery's lease lapse once while it starts up, and the next one fails it.
    const stalls = Number(/lease ran out (\d+) times/.exec(outcome?.error ?? "")?.[1]);
    expect(stalls).toBeGreaterThanOrEqual(11);
    expect(stalls).toBeLessThanOrEqual(12);
    expect(outcome?.attempt).toBe(1);
  });
});
