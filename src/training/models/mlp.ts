/**
 * A multi-layer perceptron: one or two ReLU hidden layers, a sigmoid (2 classes) or softmax output,
 * backprop over mini-batches, SGD or Adam. All parameters live in one Float64Array (per layer:
 * weights `out × in`, then biases) so averaging, checkpoints and Adam treat them alike. Initial
 * weights come from the dataset seed, so every task of a job starts from the same point.
 */
import type { AbortCheck } from "../abort.ts";
import type { Split } from "../dataset.ts";
import type { NeuralNetworkHyperparameters } from "../hyperparameters.ts";
import { evaluateProbabilities, logitsToProbabilities, outputsFor } from "../metrics.ts";
import { Rng, Stream } from "../rng.ts";
import type { ResolvedTaskInput } from "../types.ts";
import { averageArrays } from "./logistic-regression.ts";
import type { EpochOutcome, NetworkArtifact, Trainer, TrainerContext } from "./model.ts";

type Input = Extract<ResolvedTaskInput, { model_type: "neural_network" }>;

const BETA1 = 0.9;
const BETA2 = 0.999;
const ADAM_EPSILON = 1e-8;

interface NetworkState extends Record<string, unknown> {
  params: Float64Array;
  /** Adam moments and step count (empty and 0 for SGD). */
  m: Float64Array;
  v: Float64Array;
  step: number;
}

/** Layer geometry: widths and where each layer's weights and biases start in `params`. */
class Layout {
  readonly sizes: Int32Array;
  readonly weightAt: number[] = [];
  readonly biasAt: number[] = [];
  readonly count: number;

  constructor(sizes: Int32Array) {
    this.sizes = sizes;
    let at = 0;
    for (let l = 0; l + 1 < sizes.length; l++) {
      const inputs = sizes[l] as number;
      const outputs = sizes[l + 1] as number;
      this.weightAt.push(at);
      at += inputs * outputs;
      this.biasAt.push(at);
      at += outputs;
    }
    this.count = at;
  }

  get layers(): number {
    return this.sizes.length - 1;
  }
}

export function createNetworkTrainer(
  ctx: TrainerContext,
  saved?: Record<string, unknown>,
): Trainer {
  return new NetworkTrainer(ctx as TrainerContext<Input>, saved as NetworkState | undefined);
}

class NetworkTrainer implements Trainer {
  readonly #ctx: TrainerContext<Input>;
  readonly #hp: NeuralNetworkHyperparameters;
  readonly #layout: Layout;
  readonly #params: Float64Array;
  readonly #m: Float64Array;
  readonly #v: Float64Array;
  #step: number;
  readonly #order: Uint32Array;

  constructor(ctx: TrainerContext<Input>, saved: NetworkState | undefined) {
    this.#ctx = ctx;
    const hp = ctx.input.hyperparameters;
    this.#hp = hp;
    const { features, classes } = ctx.train;
    const sizes = [features];
    for (let l = 0; l < hp.hidden_layers; l++) sizes.push(hp.hidden_units);
    sizes.push(outputsFor(classes));
    this.#layout = new Layout(Int32Array.from(sizes));
    const adam = hp.optimizer === "adam";
    if (saved) {
      this.#params = Float64Array.from(saved.params);
      this.#m = Float64Array.from(saved.m);
      this.#v = Float64Array.from(saved.v);
      this.#step = saved.step;
      if (this.#params.length !== this.#layout.count) {
        throw new RangeError("checkpoint parameters do not match the network shape");
      }
    } else {
      this.#params = initialParameters(this.#layout, ctx.input.dataset.seed);
      this.#m = new Float64Array(adam ? this.#layout.count : 0);
      this.#v = new Float64Array(adam ? this.#layout.count : 0);
      this.#step = 0;
    }
    this.#order = new Uint32Array(ctx.train.n);
  }

  epoch(checkAbort: AbortCheck): EpochOutcome {
    const { x, y, n, features: d } = this.#ctx.train;
    const layout = this.#layout;
    const params = this.#params;
    const grad = new Float64Array(layout.count);
    const act = Array.from(layout.sizes, (size) => new Float64Array(size));
    const delta = Array.from(layout.sizes, (size) => new Float64Array(size));
    const probs = new Float64Array(Math.max(2, layout.sizes[layout.layers] as number));
    const input = act[0] as Float64Array;
    const order = this.#order;
    for (let i = 0; i < n; i++) order[i] = i;
    this.#ctx.rng.shuffle(order);
    const batch = this.#hp.batch_size;
    let loss = 0;
    for (let b0 = 0; b0 < n; b0 += batch) {
      checkAbort();
      const b1 = Math.min(n, b0 + batch);
      grad.fill(0);
      for (let i = b0; i < b1; i++) {
        const r = order[i] as number;
        for (let j = 0; j < d; j++) input[j] = x[r * d + j] as number;
        forward(layout, params, act);
        loss += outputDelta(act, delta, probs, y[r] as number, layout.layers);
        backward(layout, params, act, delta, grad);
      }
      this.#apply(grad, b1 - b0);
    }
    return { rows: n, loss: loss / n };
  }

  #apply(grad: Float64Array, rows: number): void {
    const { learning_rate: lr, l2, optimizer } = this.#hp;
    const p = this.#params;
    if (optimizer === "sgd") {
      for (let k = 0; k < p.length; k++) {
        p[k] = (p[k] as number) - lr * ((grad[k] as number) / rows + l2 * (p[k] as number));
      }
      return;
    }
    this.#step++;
    const m = this.#m;
    const v = this.#v;
    const c1 = 1 - BETA1 ** this.#step;
    const c2 = 1 - BETA2 ** this.#step;
    for (let k = 0; k < p.length; k++) {
      const g = (grad[k] as number) / rows + l2 * (p[k] as number);
      const mk = BETA1 * (m[k] as number) + (1 - BETA1) * g;
      const vk = BETA2 * (v[k] as number) + (1 - BETA2) * g * g;
      m[k] = mk;
      v[k] = vk;
      p[k] = (p[k] as number) - (lr * (mk / c1)) / (Math.sqrt(vk / c2) + ADAM_EPSILON);
    }
  }

  evaluate() {
    const heldOut = this.#ctx.heldOut;
    return evaluateProbabilities(
      predictNetwork(this.artifact(), heldOut),
      heldOut.y,
      heldOut.n,
      heldOut.classes,
    );
  }

  state(): NetworkState {
    return { params: this.#params, m: this.#m, v: this.#v, step: this.#step };
  }

  artifact(): NetworkArtifact {
    const { features, classes } = this.#ctx.train;
    return {
      model_type: "neural_network",
      features,
      classes,
      sizes: this.#layout.sizes,
      params: this.#params,
    };
  }
}

/** He-normal weights for ReLU layers (Glorot-like for the output), zero biases. */
function initialParameters(layout: Layout, seed: number): Float64Array {
  const rng = new Rng(seed, Stream.init);
  const params = new Float64Array(layout.count);
  for (let l = 0; l < layout.layers; l++) {
    const inputs = layout.sizes[l] as number;
    const outputs = layout.sizes[l + 1] as number;
    const scale = Math.sqrt((l + 1 === layout.layers ? 1 : 2) / inputs);
    const at = layout.weightAt[l] as number;
    for (let k = 0; k < inputs * outputs; k++) params[at + k] = rng.gaussian() * scale;
  }
  return params;
}

/** Fills `act[1..]` from `act[0]`: ReLU on hidden layers, raw logits on the output. */
function forward(layout: Layout, params: Float64Array, act: Float64Array[]): void {
  for (let l = 0; l < layout.layers; l++) {
    const a = act[l] as Float64Array;
    const out = act[l + 1] as Float64Array;
    const inputs = a.length;
    const hidden = l + 1 < layout.layers;
    const w = layout.weightAt[l] as number;
    const b = layout.biasAt[l] as number;
    for (let o = 0; o < out.length; o++) {
      let s = params[b + o] as number;
      const wo = w + o * inputs;
      for (let i = 0; i < inputs; i++) s += (params[wo + i] as number) * (a[i] as number);
      out[o] = hidden && s < 0 ? 0 : s;
    }
  }
}

/** Sets the output delta (probabilities − one-hot label) and returns the sample's loss. */
function outputDelta(
  act: Float64Array[],
  delta: Float64Array[],
  probs: Float64Array,
  label: number,
  layers: number,
): number {
  const logits = act[layers] as Float64Array;
  const out = delta[layers] as Float64Array;
  logitsToProbabilities(logits, 0, logits.length, probs, 0);
  if (logits.length === 1) {
    out[0] = (probs[1] as number) - label;
  } else {
    for (let k = 0; k < logits.length; k++) out[k] = (probs[k] as number) - (k === label ? 1 : 0);
  }
  return -Math.log(Math.max(probs[label] as number, 1e-15));
}

/** Accumulates the sample's gradient into `grad`, propagating deltas down the layers. */
function backward(
  layout: Layout,
  params: Float64Array,
  act: Float64Array[],
  delta: Float64Array[],
  grad: Float64Array,
): void {
  for (let l = layout.layers - 1; l >= 0; l--) {
    const a = act[l] as Float64Array;
    const dOut = delta[l + 1] as Float64Array;
    const inputs = a.length;
    const w = layout.weightAt[l] as number;
    const b = layout.biasAt[l] as number;
    const dIn = delta[l] as Float64Array;
    if (l > 0) dIn.fill(0);
    for (let o = 0; o < dOut.length; o++) {
      const g = dOut[o] as number;
      if (g === 0) continue;
      grad[b + o] = (grad[b + o] as number) + g;
      const wo = w + o * inputs;
      for (let i = 0; i < inputs; i++) {
        grad[wo + i] = (grad[wo + i] as number) + g * (a[i] as number);
        if (l > 0) dIn[i] = (dIn[i] as number) + g * (params[wo + i] as number);
      }
    }
    if (l > 0) {
      // ReLU derivative: the unit was active iff its output is positive.
      for (let i = 0; i < inputs; i++) if ((a[i] as number) <= 0) dIn[i] = 0;
    }
  }
}

/** Class probabilities (`n × classes`) of every row of `split`. */
export function predictNetwork(model: NetworkArtifact, split: Split): Float64Array {
  const layout = new Layout(model.sizes);
  const act = Array.from(model.sizes, (size) => new Float64Array(size));
  const input = act[0] as Float64Array;
  const d = model.features;
  const out = new Float64Array(split.n * model.classes);
  for (let r = 0; r < split.n; r++) {
    for (let j = 0; j < d; j++) input[j] = split.x[r * d + j] as number;
    forward(layout, model.params, act);
    const logits = act[layout.layers] as Float64Array;
    logitsToProbabilities(logits, 0, logits.length, out, r * model.classes);
  }
  return out;
}

/** Parameter averaging (every task starts from the same initial weights, so this is sound). */
export function averageNetworks(models: NetworkArtifact[]): NetworkArtifact {
  const first = models[0];
  if (first === undefined) throw new RangeError("nothing to average");
  return { ...first, params: averageArrays(models.map((m) => m.params)) };
}
