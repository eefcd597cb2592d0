/**
 * Histogram-based decision trees shared by the forest and boosting. Features are quantile-binned
 * once per shard (≤ 255 bins, feature-major bytes), so finding a split is one pass over the node's
 * rows per candidate feature plus a scan over the bins. Rows are partitioned in place.
 */
import type { AbortCheck } from "../abort.ts";
import type { Rng } from "../rng.ts";

/** A trained tree. Node 0 is the root; a leaf has `feature` −1. */
export interface Tree {
  feature: Int32Array;
  /** Go left when `x[feature] <= threshold`. */
  threshold: Float32Array;
  left: Int32Array;
  right: Int32Array;
  /** `width` numbers per node: class distribution (forest) or one leaf weight (boosting). */
  value: Float32Array;
  width: number;
}

/** Quantile bins of a shard: `bins[f * n + row]` is the bin of row `row` for feature `f`. */
export interface Binned {
  n: number;
  features: number;
  bins: Uint8Array;
  /** Per feature, ascending distinct edges: bin `b` holds values `v <= edges[b]` (> edges[b-1]). */
  edges: Float32Array[];
}

const QUANTILE_SAMPLE = 50_000;

/** Bins every feature of `x` (`n × features`, row-major) into at most `nBins` quantile bins. */
export function binFeatures(
  x: Float32Array,
  n: number,
  features: number,
  nBins: number,
  checkAbort: AbortCheck,
): Binned {
  const bins = new Uint8Array(features * n);
  const edges: Float32Array[] = [];
  const stride = Math.max(1, Math.floor(n / QUANTILE_SAMPLE));
  const m = Math.ceil(n / stride);
  const sample = new Float32Array(m);
  for (let f = 0; f < features; f++) {
    checkAbort();
    for (let i = 0, r = 0; i < m; i++, r += stride) sample[i] = x[r * features + f] as number;
    sample.sort();
    const max = sample[m - 1] as number;
    const cut: number[] = [];
    for (let q = 1; q < nBins; q++) {
      const v = sample[Math.floor((q * m) / nBins)] as number;
      if (v < max && (cut.length === 0 || v > (cut[cut.length - 1] as number))) cut.push(v);
    }
    const e = Float32Array.from(cut);
    edges.push(e);
    const off = f * n;
    for (let r = 0; r < n; r++) {
      const v = x[r * features + f] as number;
      let lo = 0;
      let hi = e.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((e[mid] as number) < v) lo = mid + 1;
        else hi = mid;
      }
      bins[off + r] = lo;
    }
  }
  return { n, features, bins, edges };
}

/** How a node's rows are scored: Gini on labels, or second-order gain on gradients. */
export type Criterion =
  | { kind: "gini"; y: Uint8Array; classes: number }
  | {
      kind: "gradient";
      grad: Float64Array;
      hess: Float64Array;
      lambda: number;
      minChildWeight: number;
      /** Shrinkage applied to the stored leaf weights. */
      eta: number;
    };

export interface GrowOptions {
  maxDepth: number;
  minSamplesSplit: number;
  /** Candidate features per split; below `features` they are drawn from `rng`. */
  featuresPerSplit: number;
  rng: Rng;
  checkAbort: AbortCheck;
}

/** Grows one tree on `rows` (indices into the binned shard; repeats count as weights). */
export function growTree(
  data: Binned,
  rows: Uint32Array,
  criterion: Criterion,
  options: GrowOptions,
): Tree {
  return new TreeBuilder(data, rows, criterion, options).build();
}

class TreeBuilder {
  readonly #data: Binned;
  readonly #rows: Uint32Array;
  readonly #criterion: Criterion;
  readonly #options: GrowOptions;
  readonly #width: number;
  /** Histogram columns: class counts (gini) or gradient, hessian, count. */
  readonly #columns: number;
  readonly #hist: Float64Array;
  readonly #total: Float64Array;
  readonly #left: Float64Array;
  readonly #order: Int32Array;
  readonly #feature: number[] = [];
  readonly #threshold: number[] = [];
  readonly #leftChild: number[] = [];
  readonly #rightChild: number[] = [];
  readonly #value: number[] = [];

  constructor(data: Binned, rows: Uint32Array, criterion: Criterion, options: GrowOptions) {
    this.#data = data;
    this.#rows = rows;
    this.#criterion = criterion;
    this.#options = options;
    this.#width = criterion.kind === "gini" ? criterion.classes : 1;
    this.#columns = criterion.kind === "gini" ? criterion.classes : 3;
    this.#hist = new Float64Array(256 * this.#columns);
    this.#total = new Float64Array(this.#columns);
    this.#left = new Float64Array(this.#columns);
    this.#order = Int32Array.from({ length: data.features }, (_, i) => i);
  }

  build(): Tree {
    this.#grow(0, this.#rows.length, 0);
    return {
      feature: Int32Array.from(this.#feature),
      threshold: Float32Array.from(this.#threshold),
      left: Int32Array.from(this.#leftChild),
      right: Int32Array.from(this.#rightChild),
      value: Float32Array.from(this.#value),
      width: this.#width,
    };
  }

  #grow(start: number, end: number, depth: number): number {
    this.#options.checkAbort();
    const node = this.#feature.length;
    this.#feature.push(-1);
    this.#threshold.push(0);
    this.#leftChild.push(-1);
    this.#rightChild.push(-1);
    const pure = this.#nodeStats(start, end);
    if (pure || depth >= this.#options.maxDepth || end - start < this.#options.minSamplesSplit) {
      return node;
    }
    const split = this.#bestSplit(start, end);
    if (split === undefined) return node;
    const { feature, bin } = split;
    const mid = this.#partition(start, end, feature, bin);
    this.#feature[node] = feature;
    this.#threshold[node] = this.#data.edges[feature]?.[bin] as number;
    this.#leftChild[node] = this.#grow(start, mid, depth + 1);
    this.#rightChild[node] = this.#grow(mid, end, depth + 1);
    return node;
  }

  /** Fills `#total` for the node, pushes its value; returns whether it cannot improve. */
  #nodeStats(start: number, end: number): boolean {
    const total = this.#total;
    total.fill(0);
    const rows = this.#rows;
    const c = this.#criterion;
    if (c.kind === "gini") {
      for (let i = start; i < end; i++) {
        const label = c.y[rows[i] as number] as number;
        total[label] = (total[label] as number) + 1;
      }
      let max = 0;
      for (let k = 0; k < c.classes; k++) {
        const count = total[k] as number;
        this.#value.push(count / (end - start));
        if (count > max) max = count;
      }
      return max === end - start;
    }
    let g = 0;
    let h = 0;
    for (let i = start; i < end; i++) {
      const r = rows[i] as number;
      g += c.grad[r] as number;
      h += c.hess[r] as number;
    }
    total[0] = g;
    total[1] = h;
    total[2] = end - start;
    this.#value.push((-g / (h + c.lambda)) * c.eta);
    return false;
  }

  #candidates(): number {
    const { featuresPerSplit, rng } = this.#options;
    const d = this.#data.features;
    if (featuresPerSplit >= d) return d;
    const order = this.#order;
    for (let i = 0; i < featuresPerSplit; i++) {
      const j = i + rng.nextInt(d - i);
      const swap = order[i] as number;
      order[i] = order[j] as number;
      order[j] = swap;
    }
    return featuresPerSplit;
  }

  #bestSplit(start: number, end: number): { feature: number; bin: number } | undefined {
    const count = this.#candidates();
    const all = count === this.#data.features;
    let bestScore = this.#parentScore() * (1 + 1e-12) + 1e-12;
    let best: { feature: number; bin: number } | undefined;
    for (let c = 0; c < count; c++) {
      const feature = all ? c : (this.#order[c] as number);
      const nb = (this.#data.edges[feature]?.length ?? 0) + 1;
      if (nb < 2) continue;
      // A root histogram over a large shard takes milliseconds: check per feature, not per node.
      this.#options.checkAbort();
      this.#histogram(feature, start, end, nb);
      const found = this.#scan(nb, end - start);
      if (found.score > bestScore) {
        bestScore = found.score;
        best = { feature, bin: found.bin };
      }
    }
    return best;
  }

  #parentScore(): number {
    const total = this.#total;
    const c = this.#criterion;
    if (c.kind === "gradient") return (total[0] as number) ** 2 / ((total[1] as number) + c.lambda);
    let n = 0;
    let sq = 0;
    for (let k = 0; k < c.classes; k++) {
      const v = total[k] as number;
      n += v;
      sq += v * v;
    }
    return sq / n;
  }

  #histogram(feature: number, start: number, end: number, nb: number): void {
    const hist = this.#hist;
    const cols = this.#columns;
    hist.fill(0, 0, nb * cols);
    const rows = this.#rows;
    const bins = this.#data.bins;
    const off = feature * this.#data.n;
    const c = this.#criterion;
    if (c.kind === "gini") {
      const y = c.y;
      for (let i = start; i < end; i++) {
        const r = rows[i] as number;
        const at = (bins[off + r] as number) * cols + (y[r] as number);
        hist[at] = (hist[at] as number) + 1;
      }
      return;
    }
    const { grad, hess } = c;
    for (let i = start; i < end; i++) {
      const r = rows[i] as number;
      const at = (bins[off + r] as number) * 3;
      hist[at] = (hist[at] as number) + (grad[r] as number);
      hist[at + 1] = (hist[at + 1] as number) + (hess[r] as number);
      hist[at + 2] = (hist[at + 2] as number) + 1;
    }
  }

  /** Best threshold bin of the current histogram: left gets bins `<= bin`. */
  #scan(nb: number, n: number): { score: number; bin: number } {
    const hist = this.#hist;
    const total = this.#total;
    const left = this.#left;
    const cols = this.#columns;
    const c = this.#criterion;
    left.fill(0);
    let bestScore = Number.NEGATIVE_INFINITY;
    let bestBin = -1;
    let nLeft = 0;
    for (let b = 0; b < nb - 1; b++) {
      for (let k = 0; k < cols; k++) left[k] = (left[k] as number) + (hist[b * cols + k] as number);
      let score: number;
      if (c.kind === "gini") {
        let sqL = 0;
        let sqR = 0;
        nLeft = 0;
        for (let k = 0; k < cols; k++) {
          const l = left[k] as number;
          const r = (total[k] as number) - l;
          nLeft += l;
          sqL += l * l;
          sqR += r * r;
        }
        if (nLeft === 0 || nLeft === n) continue;
        score = sqL / nLeft + sqR / (n - nLeft);
      } else {
        const gL = left[0] as number;
        const hL = left[1] as number;
        const hR = (total[1] as number) - hL;
        if (left[2] === 0 || left[2] === n) continue;
        if (hL < c.minChildWeight || hR < c.minChildWeight) continue;
        const gR = (total[0] as number) - gL;
        score = (gL * gL) / (hL + c.lambda) + (gR * gR) / (hR + c.lambda);
      }
      if (score > bestScore) {
        bestScore = score;
        bestBin = b;
      }
    }
    return { score: bestScore, bin: bestBin };
  }

  #partition(start: number, end: number, feature: number, bin: number): number {
    const rows = this.#rows;
    const bins = this.#data.bins;
    const off = feature * this.#data.n;
    let i = start;
    let j = end - 1;
    while (i <= j) {
      const r = rows[i] as number;
      if ((bins[off + r] as number) <= bin) i++;
      else {
        rows[i] = rows[j] as number;
        rows[j] = r;
        j--;
      }
    }
    return i;
  }
}

/** The leaf `row` of `x` (`features` wide, row-major) falls in. */
export function leafOf(tree: Tree, x: Float32Array, row: number, features: number): number {
  const { feature, threshold, left, right } = tree;
  const base = row * features;
  let node = 0;
  let f = feature[0] as number;
  while (f >= 0) {
    node =
      (x[base + f] as number) <= (threshold[node] as number)
        ? (left[node] as number)
        : (right[node] as number);
    f = feature[node] as number;
  }
  return node;
}
