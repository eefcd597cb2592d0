import { describe, expect, it } from "vitest";
import {
  ChunkSizer,
  chunkSize,
  chunksOf,
  estimateTaskMs,
  MAX_CHUNK_TASKS,
} from "../../src/jobs/chunk-sizing.ts";
import { validateTrainingSpec } from "../../src/training/training-spec.ts";
import type { ResolvedTrainingSpec } from "../../src/training/types.ts";

function spec(raw: Record<string, unknown>): ResolvedTrainingSpec {
  const result = validateTrainingSpec(raw);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.value;
}

const tiny = spec({
  model_type: "logistic_regression",
  dataset: { samples: 2_000, features: 2 },
  epochs: 1,
  tasks: 100,
});
const long = spec({
  model_type: "neural_network",
  dataset: { samples: 20_000, features: 20 },
  epochs: 100,
  tasks: 4,
});

describe("chunk sizing", () => {
  it("batches tiny tasks (a job of 100 in one chunk, at most 256 a chunk), keeps long ones alone", () => {
    expect(chunkSize(tiny, estimateTaskMs(tiny), 50)).toBe(100);
    expect(chunkSize({ ...tiny, tasks: 1000 }, estimateTaskMs(tiny), 50)).toBe(MAX_CHUNK_TASKS);
    expect(chunkSize(long, estimateTaskMs(long), 50)).toBe(1);
  });

  it("puts about the target's worth of work in a chunk", () => {
    const mid = spec({ model_type: "neural_network", dataset: { samples: 2_000 }, tasks: 100 });
    const size = chunkSize(mid, estimateTaskMs(mid), 50);
    expect(size * estimateTaskMs(mid)).toBeLessThanOrEqual(50);
    expect((size + 1) * estimateTaskMs(mid)).toBeGreaterThan(50);
  });

  it("sends one task a chunk with a target of 0 ms", () => {
    expect(chunkSize(tiny, estimateTaskMs(tiny), 0)).toBe(1);
  });

  it("never puts more models in a chunk than its record can hold", () => {
    const wide = spec({
      model_type: "neural_network",
      dataset: { samples: 10_000, features: 100 },
      hyperparameters: { hidden_units: 256 },
      epochs: 1,
      tasks: 100,
    });
    expect(chunkSize(wide, 0.001, 10_000)).toBe(2);
  });

  it("splits a job's tasks into consecutive chunks, the last one shorter", () => {
    expect(chunksOf(5, 2)).toEqual([[0, 1], [2, 3], [4]]);
  });

  it("learns from measured chunks: tasks twice as slow as estimated get chunks half as big", () => {
    const mid = spec({
      model_type: "logistic_regression",
      dataset: { samples: 20_000 },
      tasks: 200,
    });
    const sizer = new ChunkSizer(50);
    const before = sizer.size(mid);
    for (let i = 0; i < 50; i++) sizer.observe(mid, 10, 10 * 2 * estimateTaskMs(mid));
    expect(sizer.size(mid)).toBeLessThanOrEqual(Math.ceil(before / 2));
    expect(sizer.size(mid)).toBeGreaterThanOrEqual(Math.floor(before / 2) - 1);
  });
});
