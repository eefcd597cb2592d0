/**
 * Gradient-boosted regression trees on log-loss ("xgboost"): second-order split gain
 * `G²/(H+λ)`, leaf weight `−G/(H+λ)` shrunk by the learning rate, one tree a round for two
 * classes, one per class (softmax) beyond. Margins of the shard and of the held-out split are
 * kept incrementally; a resumed task rebuilds them by replaying its trees in the same order.
 */
import type { AbortCheck } from "../abort.ts";
import type { Split } from "../dataset.ts";
import type { XgboostHyperparameters } from "../hyperparameters.ts";
import { evaluateProbabilities, logitsToProbabilities, outputsFor } from "../metrics.ts";
import type { ResolvedTaskInput } from "../types.ts";
import type { BoosterArtifact, EpochOutcome, Trainer, TrainerContext } from "./model.ts";
import { type Binned, binFeatures, growTree, leafOf, type Tree } from "./tree.ts";

type Input = Extract<ResolvedTaskInput, { model_type: "xgboost" }>;

const MIN_HESSIAN = 1e-16;

interface BoosterState extends Record<string, unknown> {
  trees: Tree[];
}

export function createBoosterTrainer(
  ctx: TrainerContext,
  saved?: Record<string, unknown>,
): Trainer {
  return new BoosterTrainer(ctx as TrainerContext<Input>, saved as BoosterState | undefined);
}

class BoosterTrainer implements Trainer {
  readonly #ctx: TrainerContext<Input>;
  readonly #hp: XgboostHyperparameters;
  readonly #outputs: number;
  readonly #binned: Binned;
  readonly #base: Float64Array;
  readonly #trees: Tree[] = [];
  readonly #margins: Float64Array;
  readonly #heldOutMargins: Float64Array;

  constructor(ctx: TrainerContext<Input>, saved: BoosterState | undefined) {
    this.#ctx = ctx;
    this.#hp = ctx.input.hyperparameters;
    const { x, n, features, classes } = ctx.train;
    this.#outputs = outputsFor(classes);
    this.#binned = binFeatures(x, n, features, this.#hp.n_bins, ctx.checkAbort);
    this.#base = baseMargins(ctx.train);
    this.#margins = initialMargins(this.#base, n);
    this.#heldOutMargins = initialMargins(this.#base, ctx.heldOut.n);
    const trees = saved?.trees ?? [];
    for (let t = 0; t < trees.length; t += this.#outputs) {
      this.#addRound(trees.slice(t, t + this.#outputs));
    }
  }

  epoch(checkAbort: AbortCheck): EpochOutcome {
    const { n, y, classes } = this.#ctx.train;
    const outputs = this.#outputs;
    const rng = this.#ctx.rng;
    const proba = new Float64Array(n * classes);
    for (let r = 0; r < n; r++)
      logitsToProbabilities(this.#margins, r * outputs, outputs, proba, r * classes);
    const sample = Uint32Array.from({ length: n }, (_, i) => i);
    let m = n;
    if (this.#hp.subsample < 1) {
      m = Math.max(1, Math.round(this.#hp.subsample * n));
      for (let i = 0; i < m; i++) {
        const j = i + rng.nextInt(n - i);
        const swap = sample[i] as number;
        sample[i] = sample[j] as number;
        sample[j] = swap;
      }
    }
    const grad = new Float64Array(n);
    const hess = new Float64Array(n);
    const round: Tree[] = [];
    for (let k = 0; k < outputs; k++) {
      const column = outputs === 1 ? 1 : k;
      for (let r = 0; r < n; r++) {
        const p = proba[r * classes + column] as number;
        grad[r] = p - (y[r] === column ? 1 : 0);
        hess[r] = Math.max(p * (1 - p), MIN_HESSIAN);
      }
      round.push(
        growTree(
          this.#binned,
          sample.slice(0, m),
          {
            kind: "gradient",
            grad,
            hess,
            lambda: this.#hp.reg_lambda,
            minChildWeight: this.#hp.min_child_weight,
            eta: this.#hp.learning_rate,
          },
          {
            maxDepth: this.#hp.max_depth,
            minSamplesSplit: this.#hp.min_samples_split,
            featuresPerSplit: this.#ctx.train.features,
            rng,
            checkAbort,
          },
        ),
      );
    }
    this.#addRound(round);
    const train = this.#ctx.train;
    return { rows: m, loss: evaluateMargins(this.#margins, train, outputs).loss };
  }

  #addRound(round: Tree[]): void {
    round.forEach((tree, k) => {
      this.#trees.push(tree);
      addTree(tree, k, this.#outputs, this.#ctx.train, this.#margins);
      addTree(tree, k, this.#outputs, this.#ctx.heldOut, this.#heldOutMargins);
    });
  }

  evaluate() {
    return evaluateMargins(this.#heldOutMargins, this.#ctx.heldOut, this.#outputs);
  }

  state(): BoosterState {
    return { trees: this.#trees };
  }

  artifact(): BoosterArtifact {
    const { features, classes } = this.#ctx.train;
    return {
      model_type: "xgboost",
      features,
      classes,
      members: [{ base: this.#base, trees: this.#trees }],
    };
  }
}

/** Log-odds of the shard's class frequencies (the model before any tree). */
function baseMargins(train: Split): Float64Array {
  const counts = new Float64Array(train.classes);
  for (let r = 0; r < train.n; r++) {
    const label = train.y[r] as number;
    counts[label] = (counts[label] as number) + 1;
  }
  const prior = (k: number) => Math.min(Math.max((counts[k] as number) / train.n, 1e-6), 1 - 1e-6);
  if (train.classes === 2) return Float64Array.of(Math.log(prior(1) / (1 - prior(1))));
  return Float64Array.from({ length: train.classes }, (_, k) => Math.log(prior(k)));
}

function initialMargins(base: Float64Array, n: number): Float64Array {
  const margins = new Float64Array(n * base.length);
  for (let r = 0; r < n; r++) margins.set(base, r * base.length);
  return margins;
}

function addTree(
  tree: Tree,
  k: number,
  outputs: number,
  split: Split,
  margins: Float64Array,
): void {
  for (let r = 0; r < split.n; r++) {
    const at = r * outputs + k;
    margins[at] =
      (margins[at] as number) + (tree.value[leafOf(tree, split.x, r, split.features)] as number);
  }
}

function evaluateMargins(margins: Float64Array, split: Split, outputs: number) {
  const proba = new Float64Array(split.n * split.classes);
  for (let r = 0; r < split.n; r++)
    logitsToProbabilities(margins, r * outputs, outputs, proba, r * split.classes);
  return evaluateProbabilities(proba, split.y, split.n, split.classes);
}

/** Class probabilities (`n × classes`): the mean of the members' margins, then sigmoid/softmax. */
export function predictBooster(model: BoosterArtifact, split: Split): Float64Array {
  const outputs = outputsFor(model.classes);
  const sum = new Float64Array(split.n * outputs);
  for (const member of model.members) {
    const margins = initialMargins(member.base, split.n);
    member.trees.forEach((tree, t) => {
      addTree(tree, t % outputs, outputs, split, margins);
    });
    for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + (margins[i] as number);
  }
  for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) / model.members.length;
  const proba = new Float64Array(split.n * model.classes);
  for (let r = 0; r < split.n; r++)
    logitsToProbabilities(sum, r * outputs, outputs, proba, r * model.classes);
  return proba;
}

/** The ensemble of the tasks' boosters. */
export function ensembleBoosters(models: BoosterArtifact[]): BoosterArtifact {
  const first = models[0];
  if (first === undefined) throw new RangeError("nothing to ensemble");
  return { ...first, members: models.flatMap((m) => m.members) };
}
