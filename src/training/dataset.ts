/**
 * Synthetic classification data, deterministic by seed. Each class has a centre drawn from N(0, 1)
 * per feature; a row is its class centre plus N(0, noise²) per feature. Row `i` is generated from
 * its own stream (seed, i), so a task generates only its shard and the held-out split, never the
 * whole dataset. Rows `[0, holdout)` are the held-out split shared by every task.
 *
 * A named data set (`dataset_id`, a built-in sample) is read instead, its rows in an order
 * shuffled by the seed (the samples are sorted by class), so the held-out split has every class.
 */
import { type AbortCheck, neverAbort } from "./abort.ts";
import { builtinDataset } from "./datasets/builtin.ts";
import type { DatasetSpec } from "./hyperparameters.ts";
import { holdoutSize, shardRange } from "./limits.ts";
import { Rng, Stream } from "./rng.ts";
import { cachedTable } from "./tables.ts";

/** Rows in row-major float32 with their labels. */
export interface Split {
  /** `n × features`, row-major. */
  x: Float32Array;
  y: Uint8Array;
  n: number;
  features: number;
  classes: number;
}

function centres(spec: DatasetSpec): Float64Array {
  const rng = new Rng(spec.seed, Stream.centres);
  const out = new Float64Array(spec.classes * spec.features);
  for (let i = 0; i < out.length; i++) out[i] = rng.gaussian();
  return out;
}

/** Rows `[start, end)` of the dataset. */
export function generateRows(
  spec: DatasetSpec,
  start: number,
  end: number,
  checkAbort: AbortCheck = neverAbort,
): Split {
  if (spec.dataset_id !== undefined) return namedRows(spec, start, end);
  const { features: d, classes, noise } = spec;
  const mu = centres(spec);
  const n = end - start;
  const x = new Float32Array(n * d);
  const y = new Uint8Array(n);
  const rng = new Rng(0);
  for (let r = 0; r < n; r++) {
    if ((r & 4095) === 0) checkAbort();
    rng.reseed(spec.seed, Stream.row, start + r);
    const label = rng.nextInt(classes);
    y[r] = label;
    const base = label * d;
    const row = r * d;
    for (let j = 0; j < d; j += 2) {
      // Box–Muller gives two independent normals: use both.
      const radius = noise * Math.sqrt(-2 * Math.log(1 - rng.next()));
      const angle = 2 * Math.PI * rng.next();
      x[row + j] = (mu[base + j] as number) + radius * Math.cos(angle);
      if (j + 1 < d) x[row + j + 1] = (mu[base + j + 1] as number) + radius * Math.sin(angle);
    }
  }
  return { x, y, n, features: d, classes };
}

/** Rows `[start, end)` of a named data set, in the order `seed` shuffles it into. */
function namedRows(spec: DatasetSpec, start: number, end: number): Split {
  const data = namedData(spec);
  const order = rowOrder(data.rows, spec.seed);
  const d = data.features.length;
  const n = end - start;
  const x = new Float32Array(n * d);
  const y = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    const from = order[start + r] as number;
    x.set(data.x.subarray(from * d, (from + 1) * d), r * d);
    y[r] = data.y[from] as number;
  }
  return { x, y, n, features: d, classes: data.classes.length };
}

/** A built-in data set, or an uploaded one this thread has loaded (`loadTable`). */
function namedData(spec: DatasetSpec) {
  const id = spec.dataset_id as string;
  const data =
    spec.content_hash === undefined
      ? builtinDataset(id)
      : cachedTable(spec.content_hash, spec.target_column as string);
  if (!data) throw new RangeError(`data set ${JSON.stringify(id)} is not loaded in this thread`);
  return data;
}

/** A named data set's rows in the order `seed` shuffles them into (held-out rows first). */
export function rowOrder(rows: number, seed: number): Uint32Array {
  const order = new Uint32Array(rows);
  for (let i = 0; i < order.length; i++) order[i] = i;
  new Rng(seed, Stream.order).shuffle(order);
  return order;
}

/**
 * Held-out splits this thread generated lately, least recently used first. Every task of a job
 * evaluates on the same split, and generating it was most of a small task's cost (~60 of ~80 µs
 * for a 10-row logistic regression; ~3.5 of ~13.6 ms for a 1,000-row network task). Callers only
 * read a split, never write it.
 */
const heldOutCache = new Map<string, Split>();
/** Held-out bytes a thread keeps: ~80 splits of 5,000 rows × 20 features, or one of 20 MB. */
const HELD_OUT_CACHE_BYTES = 32 * 1024 * 1024;
let heldOutCacheBytes = 0;

/** The held-out split shared by every task of a job (kept for the thread's next tasks). */
export function heldOutSplit(spec: DatasetSpec, checkAbort: AbortCheck = neverAbort): Split {
  const key = `${spec.dataset_id ?? ""}/${spec.content_hash ?? ""}/${spec.target_column ?? ""}/${spec.test_fraction ?? ""}/${spec.seed}/${spec.samples}/${spec.features}/${spec.classes}/${spec.noise}`;
  const cached = heldOutCache.get(key);
  if (cached) {
    heldOutCache.delete(key);
    heldOutCache.set(key, cached);
    return cached;
  }
  const split = generateRows(spec, 0, holdoutSize(spec.samples, spec.test_fraction), checkAbort);
  heldOutCache.set(key, split);
  heldOutCacheBytes += splitBytes(split);
  for (const [oldest, old] of heldOutCache) {
    if (heldOutCacheBytes <= HELD_OUT_CACHE_BYTES || old === split) break;
    heldOutCache.delete(oldest);
    heldOutCacheBytes -= splitBytes(old);
  }
  return split;
}

function splitBytes(split: Split): number {
  return split.x.byteLength + split.y.byteLength;
}

/** Task `taskIndex`'s training shard. */
export function trainingShard(
  spec: DatasetSpec,
  taskIndex: number,
  tasks: number,
  checkAbort: AbortCheck = neverAbort,
): Split {
  const [start, end] = shardRange(spec.samples, taskIndex, tasks, spec.test_fraction);
  return generateRows(spec, start, end, checkAbort);
}
