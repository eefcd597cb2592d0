/**
 * A linear support vector machine by mini-batch SGD on the primal objective
 * `λ/2 ‖w‖² + mean hinge(t · (w·x + b))` with `λ = 1 / (c × rows)` — scikit-learn's C. Two classes
 * have one margin; more are one-vs-rest, one margin per class. The epoch's loss is that objective's
 * mean hinge; predictions turn margins into probabilities (sigmoid, softmax) so the held-out
 * loss and the job's aggregate compare with the other models'.
 */
import type { AbortCheck } from "../abort.ts";
import type { SvmHyperparameters } from "../hyperparameters.ts";
import { evaluateProbabilities, outputsFor } from "../metrics.ts";
import type { ResolvedTaskInput } from "../types.ts";
import { predictLinear } from "./logistic-regression.ts";
import type { EpochOutcome, SvmArtifact, Trainer, TrainerContext } from "./model.ts";

type Input = Extract<ResolvedTaskInput, { model_type: "svm" }>;

interface SvmState extends Record<string, unknown> {
  weights: Float64Array;
  bias: Float64Array;
}

export function createSvmTrainer(ctx: TrainerContext, saved?: Record<string, unknown>): Trainer {
  return new SvmTrainer(ctx as TrainerContext<Input>, saved as SvmState | undefined);
}

class SvmTrainer implements Trainer {
  readonly #ctx: TrainerContext<Input>;
  readonly #hp: SvmHyperparameters;
  readonly #outputs: number;
  readonly #weights: Float64Array;
  readonly #bias: Float64Array;
  readonly #order: Uint32Array;

  constructor(ctx: TrainerContext<Input>, saved: SvmState | undefined) {
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
    const { learning_rate: lr, batch_size: batch, c } = this.#hp;
    const lambda = 1 / (c * Math.max(n, 1));
    const w = this.#weights;
    const bias = this.#bias;
    const gradW = new Float64Array(w.length);
    const gradB = new Float64Array(outputs);
    const order = this.#order;
    for (let i = 0; i < n; i++) order[i] = i;
    this.#ctx.rng.shuffle(order);
    let hinge = 0;
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
          // One margin for two classes (class 1 positive); else class o against the rest.
          const t = (outputs === 1 ? label === 1 : label === o) ? 1 : -1;
          const wo = o * d;
          let s = bias[o] as number;
          for (let j = 0; j < d; j++) s += (w[wo + j] as number) * (x[row + j] as number);
          const margin = t * s;
          if (margin >= 1) continue;
          hinge += 1 - margin;
          gradB[o] = (gradB[o] as number) - t;
          for (let j = 0; j < d; j++)
            gradW[wo + j] = (gradW[wo + j] as number) - t * (x[row + j] as number);
        }
      }
      const step = lr / (b1 - b0);
      const decay = 1 - lr * lambda;
      for (let k = 0; k < w.length; k++)
        w[k] = (w[k] as number) * decay - step * (gradW[k] as number);
      for (let o = 0; o < outputs; o++) bias[o] = (bias[o] as number) - step * (gradB[o] as number);
    }
    return { rows: n, loss: hinge / Math.max(n * outputs, 1) };
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

  state(): SvmState {
    return { weights: this.#weights, bias: this.#bias };
  }

  artifact(): SvmArtifact {
    const { features, classes } = this.#ctx.train;
    return { model_type: "svm", features, classes, weights: this.#weights, bias: this.#bias };
  }
}
