import { describe, expect, it } from "vitest";
import { generateRows, heldOutSplit, trainingShard } from "../../src/training/dataset.ts";
import type { DatasetSpec } from "../../src/training/hyperparameters.ts";
import { holdoutSize, shardRange } from "../../src/training/limits.ts";
import { Rng } from "../../src/training/rng.ts";

const spec: DatasetSpec = { samples: 1000, features: 5, classes: 4, seed: 3, noise: 0.5 };

describe("synthetic dataset", () => {
  it("is the same for the same seed and different for another", () => {
    const a = generateRows(spec, 0, 200);
    expect(generateRows(spec, 0, 200)).toEqual(a);
    expect(generateRows({ ...spec, seed: 4 }, 0, 200).x).not.toEqual(a.x);
  });

  it("generates any row range identically to the whole", () => {
    const whole = generateRows(spec, 0, spec.samples);
    const part = generateRows(spec, 400, 450);
    expect(part.x).toEqual(whole.x.slice(400 * 5, 450 * 5));
    expect(part.y).toEqual(whole.y.slice(400, 450));
  });

  it("splits into a held-out fifth and task shards that cover the rest exactly once", () => {
    const tasks = 7;
    const ranges = Array.from({ length: tasks }, (_, k) => shardRange(spec.samples, k, tasks));
    expect(ranges[0]?.[0]).toBe(holdoutSize(spec.samples));
    expect(holdoutSize(spec.samples)).toBe(200);
    ranges.forEach(([, end], k) => {
      expect(end).toBe(ranges[k + 1]?.[0] ?? spec.samples);
    });
    const shard = trainingShard(spec, 3, tasks);
    const [start, end] = ranges[3] ?? [0, 0];
    expect(shard).toEqual(generateRows(spec, start, end));
    expect(heldOutSplit(spec)).toEqual(generateRows(spec, 0, 200));
  });

  it("gives each dataset its own held-out split when the thread keeps splits between tasks", () => {
    const specs = [spec, { ...spec, seed: 4 }, { ...spec, noise: 0.1 }, { ...spec, classes: 3 }];
    // Twice round: the second round reads what the first kept, and must match a fresh generation.
    for (const round of [1, 2]) {
      for (const s of specs) {
        expect(heldOutSplit(s), `round ${round}, ${JSON.stringify(s)}`).toEqual(
          generateRows(s, 0, holdoutSize(s.samples)),
        );
      }
    }
    // More held-out data than a thread keeps (5 × 8 MB > 32 MB): older splits make room, none is wrong.
    const wide = { samples: 10_000, features: 1000, classes: 2, seed: 9, noise: 1 };
    for (let seed = 0; seed < 5; seed++) heldOutSplit({ ...wide, seed });
    expect(heldOutSplit(wide).n).toBe(2000);
    expect(heldOutSplit(spec)).toEqual(generateRows(spec, 0, 200));
  });

  it("caps the held-out split for large datasets", () => {
    expect(holdoutSize(1_000_000)).toBe(5000);
  });

  it("draws every class, with features in float32 and labels below the class count", () => {
    const { x, y, n } = generateRows(spec, 0, 400);
    expect(x).toBeInstanceOf(Float32Array);
    expect(new Set(y).size).toBe(4);
    expect(Math.max(...y)).toBeLessThan(4);
    expect(x.length).toBe(n * 5);
  });
});

describe("random stream", () => {
  it("continues exactly from a saved state", () => {
    const rng = new Rng(1, 2, 3);
    for (let i = 0; i < 10; i++) rng.next();
    const copy = Rng.fromState(rng.state());
    const ahead = Array.from({ length: 20 }, () => rng.nextUint32());
    expect(Array.from({ length: 20 }, () => copy.nextUint32())).toEqual(ahead);
  });

  it("gives independent streams for different keys", () => {
    const a = new Rng(7, 1);
    const b = new Rng(7, 2);
    expect(Array.from({ length: 4 }, () => a.nextUint32())).not.toEqual(
      Array.from({ length: 4 }, () => b.nextUint32()),
    );
  });

  it("draws uniform values in [0, 1) with a plausible mean", () => {
    const rng = new Rng(5);
    const values = Array.from({ length: 10_000 }, () => rng.next());
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(values.reduce((a, b) => a + b) / values.length).toBeCloseTo(0.5, 1);
  });
});
