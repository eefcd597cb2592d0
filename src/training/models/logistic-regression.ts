/**
 * Logistic regression by mini-batch SGD: a sigmoid output for two classes, softmax beyond. Weights
 * start at zero; each epoch visits the shard in an order shuffled by the task's stream.
 */
import type { AbortCheck } from "../abort.ts";
import type { Split } from "../dataset.ts";
import type { LogisticRegressionHyperparameters } from "../hyperparameters.ts";
import { evaluateProbabilities, logitsToProbabilities, outputsFor, sigmoid } from "../metrics.ts";
import type { ResolvedTaskInput } from "../types.ts";
import type {
  EpochOutcome,
  LinearArtifact,
  SvmArtifact,
  Trainer,
  TrainerContext,
} from "./model.ts";

type Input = Extract<ResolvedTaskInput, { model_type: "logistic_regression" }>;

interface LinearState extends Record<string, unknown> {
  weights: Float64Array;
  bias: Float64Array;
}

export function createLinearTrainer(ctx: TrainerContext, saved?: Record<string, unknown>): Trainer {
  return new LinearTrainer(ctx as TrainerContext<Input>, saved as LinearState | undefined);
}

class LinearTrainer implements Trainer {
  readonly #ctx: TrainerContext<Input>;
  readonly #hp: LogisticRegressionHyperparameters;
  readonly #outputs: number;
  readonly #weights: Float64Array;
  readonly #bias: Float64Array;
  readonly #order: Uint32Array;

  constructor(ctx: TrainerContext<Input>, saved: LinearState | undefined) {
    this.#ctx = ctx;
    this.#hp = ctx.input.hyperparameters;
    this.#outputs = outputsFor(ctx.train.classes);
    const size = this.#outputs * ctx.train.features;
    this.#weights = saved ? Float64Array.from(saved.weights) : new Float64Array(size);
    this.#bias = saved ? Float64Array.from(saved.bias) : new Float64Array(this.#outputs);
    if (this.#weights.length !== size || this.#bias.length !== this.#outputs) {
      throw new RangeError("checkpoint weights do not match the dataset shape");
    }
    this.#order = new Uint32Array(ctx.train.n);
  }

  epoch(checkAbort: AbortCheck): EpochOutcome {
    const { x, y, n, features: d } = this.#ctx.train;
    const outputs = this.#outputs;
    const { learning_rate: lr, batch_size: batch, l2 } = this.#hp;
    const w = this.#weights;
    const bias = this.#bias;
    const gradW = new Float64Array(w.length);
    const gradB = new Float64Array(outputs);
    const z = new Float64Array(outputs);
    const p = new Float64Array(Math.max(2, outputs));
    const order = this.#order;
    for (let i = 0; i < n; i++) order[i] = i;
    this.#ctx.rng.shuffle(order);
    let loss = 0;
    for (let b0 = 0; b0 < n; b0 += batch) {
      checkAbort();
      const b1 = Math.min(n, b0 + batch);
      gradW.fill(0);
      gradB.fill(0);
      for (let i = b0; i < b1; i++) {
        const r = order[i] as number;
        const row = r * d;
        const label = y[r] as number;
        for (let o = 0; o < outputs; o++) {
          let s = bias[o] as number;
          const wo = o * d;
          for (let j = 0; j < d; j++) s += (w[wo + j] as number) * (x[row + j] as number);
          z[o] = s;
        }
        if (outputs === 1) {
          const q = sigmoid(z[0] as number);
          loss -= Math.log(Math.max(label === 1 ? q : 1 - q, 1e-15));
          p[0] = q - label;
        } else {
          logitsToProbabilities(z, 0, outputs, p, 0);
          loss -= Math.log(Math.max(p[label] as number, 1e-15));
          p[label] = (p[label] as number) - 1;
        }
        for (let o = 0; o < outputs; o++) {
          const delta = p[o] as number;
          gradB[o] = (gradB[o] as number) + delta;
          const wo = o * d;
          for (let j = 0; j < d; j++) {
            gradW[wo + j] = (gradW[wo + j] as number) + delta * (x[row + j] as number);
          }
        }
      }
      const step = lr / (b1 - b0);
      const decay = 1 - lr * l2;
      for (let k = 0; k < w.length; k++)
        w[k] = (w[k] as number) * decay - step * (gradW[k] as number);
      for (let o = 0; o < outputs; o++) bias[o] = (bias[o] as number) - step * (gradB[o] as number);
    }
    return { rows: n, loss: loss / n };
  }

  evaluate() {
    const heldOut = this.#ctx.heldOut;
    return evaluateProbabilities(
      predictLinear(this.artifact(), heldOut),
      heldOut.y,
      heldOut.n,
      heldOut.classes,
    );
  }

  state(): LinearState {
    return { weights: this.#weights, bias: this.#bias };
  }

  artifact(): LinearArtifact {
    const { features, classes } = this.#ctx.train;
    return {
      model_type: "logistic_regression",
      features,
      classes,
      weights: this.#weights,
      bias: this.#bias,
    };
  }
}

/**
 * Class probabilities (`n × classes`) of every row of `split`: each output's margin through the
 * sigmoid (two classes) or the softmax — for logistic regression and the linear SVM alike.
 */
export function predictLinear(model: LinearArtifact | SvmArtifact, split: Split): Float64Array {
  const { features: d, classes, weights: w, bias } = model;
  const outputs = outputsFor(classes);
  const out = new Float64Array(split.n * classes);
  const z = new Float64Array(outputs);
  for (let r = 0; r < split.n; r++) {
    const row = r * d;
    for (let o = 0; o < outputs; o++) {
      let s = bias[o] as number;
      for (let j = 0; j < d; j++) s += (w[o * d + j] as number) * (split.x[row + j] as number);
      z[o] = s;
    }
    logitsToProbabilities(z, 0, outputs, out, r * classes);
  }
  return out;
}

/** Parameter averaging of the tasks' models (each a linear separator of its shard). */
export function averageLinear<A extends LinearArtifact | SvmArtifact>(models: A[]): A {
  const first = models[0];
  if (first === undefined) throw new RangeError("nothing to average");
  return {
    ...first,
    weights: averageArrays(models.map((m) => m.weights)),
    bias: averageArrays(models.map((m) => m.bias)),
  };
}

/** Element-wise mean of equally long arrays. */
export function averageArrays(arrays: Float64Array[]): Float64Array {
  const out = new Float64Array(arrays[0]?.length ?? 0);
  for (const a of arrays) {
    if (a.length !== out.length) throw new RangeError("models of different shapes");
    for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) + (a[i] as number);
  }
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / arrays.length;
  return out;
}
