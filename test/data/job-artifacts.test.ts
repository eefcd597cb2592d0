import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { DatasetBytes } from "../../src/artifacts/dataset-bytes.ts";
import { storeJobArtifacts } from "../../src/artifacts/job-artifacts.ts";
import { ModelFiles } from "../../src/artifacts/model-files.ts";
import { newJobId, newJobRecord } from "../../src/jobs/job-record.ts";
import { parseJobSpec } from "../../src/jobs/job-spec.ts";
import type { AggregateResult } from "../../src/training/types.ts";
import type { BlobInfo, BlobStore } from "../../src/transport/ports.ts";
import type { TaskOutcome } from "../../src/workers/chunk-message.ts";

/** Objects in memory, counting the puts of each name. */
class MemoryBlobStore implements BlobStore {
  readonly objects = new Map<string, Uint8Array>();
  readonly puts = new Map<string, number>();

  async put(name: string, source: AsyncIterable<Uint8Array>): Promise<BlobInfo> {
    const parts: Uint8Array[] = [];
    for await (const chunk of source) parts.push(chunk);
    this.objects.set(name, Buffer.concat(parts));
    this.puts.set(name, (this.puts.get(name) ?? 0) + 1);
    return this.#info(name) as BlobInfo;
  }
  async get(name: string) {
    const value = this.objects.get(name);
    if (!value) return undefined;
    return {
      info: this.#info(name) as BlobInfo,
      data: (async function* () {
        yield value;
      })(),
    };
  }
  async info(name: string) {
    return this.#info(name);
  }
  async create(name: string, bytes: Uint8Array) {
    if (this.objects.has(name)) return false;
    await this.put(
      name,
      (async function* () {
        yield bytes;
      })(),
    );
    return true;
  }
  async list(prefix = "") {
    return [...this.objects.keys()]
      .filter((n) => n.startsWith(prefix))
      .map((n) => this.#info(n) as BlobInfo);
  }
  async delete(name: string) {
    return this.objects.delete(name);
  }
  #info(name: string): BlobInfo | undefined {
    const value = this.objects.get(name);
    return value && { name, size: value.byteLength, sha256: "", modified: "" };
  }
}

const log = pino({ level: "silent" });
const spec = parseJobSpec(
  { model_type: "logistic_regression", dataset: { samples: 200, features: 2 }, tasks: 2 },
  { maxAttempts: 1 },
);
const outcome = (loss: number): TaskOutcome => ({
  status: "COMPLETED",
  attempt: 1,
  worker_id: "w",
  finished_at: "2026-12-03T00:00:00.000Z",
  duration_ms: 1,
  metrics: { loss, accuracy: 0.5, heldout_loss: loss, train_samples: 80 },
  model: new Uint8Array([1]),
  error: null,
  history: [loss, 0.5, loss],
});
const aggregated: AggregateResult = {
  model_type: "logistic_regression",
  tasks: 2,
  metrics: { loss: 0.4, accuracy: 0.9, heldout_samples: 40 },
  model: new Uint8Array([1]),
  model_json: JSON.stringify({ features: ["x0", "x1"], classes: ["0", "1"], target_column: null }),
};

describe("a job's artifacts, written by its owner", () => {
  it("are written once each: an owner that dies half-way leaves the rest to the next, which rewrites nothing", async () => {
    const store = new MemoryBlobStore();
    const record = newJobRecord(newJobId(), spec, new Date(), 1);
    const outcomes: [number, TaskOutcome][] = [
      [0, outcome(0.5)],
      [1, outcome(0.6)],
    ];
    const pool = { aggregate: async () => aggregated };
    const deps = { store, bytes: new DatasetBytes(store), models: new ModelFiles(store) };
    const dying = {
      ...deps,
      between: (written: number) => {
        if (written === 2) throw new Error("killed");
      },
    };
    await expect(storeJobArtifacts(dying, pool, record, outcomes, log)).rejects.toThrow("killed");
    expect([...store.objects.keys()].map((n) => n.split("/")[1])).toEqual([
      "spec.json",
      "history.csv",
    ]);
    expect(await storeJobArtifacts(deps, pool, record, outcomes, log)).toEqual({
      loss: 0.4,
      accuracy: 0.9,
    });
    expect([...store.puts.values()]).toEqual([1, 1, 1, 1]);
    const history = new TextDecoder().decode(store.objects.get(`${record.job_id}/history.csv`));
    expect(history).toBe(
      "task,epoch,loss,accuracy,validation_loss\n0,1,0.5,0.5,0.5\n1,1,0.6,0.5,0.6\n",
    );
  });

  it("are not written when a task's model was too large to keep (the tasks' metrics stand)", async () => {
    const store = new MemoryBlobStore();
    const record = newJobRecord(newJobId(), spec, new Date(), 1);
    const pool = { aggregate: async () => aggregated };
    const deps = { store, bytes: new DatasetBytes(store), models: new ModelFiles(store) };
    const outcomes: [number, TaskOutcome][] = [[0, { ...outcome(0.5), model: null }]];
    expect(await storeJobArtifacts(deps, pool, record, outcomes, log)).toBeUndefined();
    expect(store.objects.size).toBe(0);
  });
});
