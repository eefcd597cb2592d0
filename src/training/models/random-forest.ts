/**
 * A random forest: each epoch grows one tree on a bootstrap sample of the shard (Gini impurity,
 * `max_features` candidates per split). The forest predicts the mean of its leaves' class
 * distributions. It has no training objective: its loss is the held-out log-loss.
 */
import type { AbortCheck } from "../abort.ts";
import type { Split } from "../dataset.ts";
import type { RandomForestHyperparameters } from "../hyperparameters.ts";
import { evaluateProbabilities } from "../metrics.ts";
import type { ResolvedTaskInput } from "../types.ts";
import type { EpochOutcome, ForestArtifact, Trainer, TrainerContext } from "./model.ts";
import { type Binned, binFeatures, growTree, leafOf, type Tree } from "./tree.ts";

type Input = Extract<ResolvedTaskInput, { model_type: "random_forest" }>;

interface ForestState extends Record<string, unknown> {
  trees: Tree[];
}

export function createForestTrainer(ctx: TrainerContext, saved?: Record<string, unknown>): Trainer {
  return new ForestTrainer(ctx as TrainerContext<Input>, saved as ForestState | undefined);
}

/** Candidate features per split. */
export function featuresPerSplit(maxFeatures: "sqrt" | number, features: number): number {
  const count =
    maxFeatures === "sqrt" ? Math.floor(Math.sqrt(features)) : Math.round(maxFeatures * features);
  return Math.min(features, Math.max(1, count));
}

class ForestTrainer implements Trainer {
  readonly #ctx: TrainerContext<Input>;
  readonly #hp: RandomForestHyperparameters;
  readonly #binned: Binned;
  readonly #trees: Tree[] = [];
  /** Sum over the trees of each held-out row's leaf distribution. */
  readonly #votes: Float64Array;

  constructor(ctx: TrainerContext<Input>, saved: ForestState | undefined) {
    this.#ctx = ctx;
    this.#hp = ctx.input.hyperparameters;
    const { x, n, features } = ctx.train;
    this.#binned = binFeatures(x, n, features, this.#hp.n_bins, ctx.checkAbort);
    this.#votes = new Float64Array(ctx.heldOut.n * ctx.heldOut.classes);
    for (const tree of saved?.trees ?? []) this.#add(tree);
  }

  epoch(checkAbort: AbortCheck): EpochOutcome {
    const { n, y, classes, features } = this.#ctx.train;
    const rng = this.#ctx.rng;
    const m = Math.max(1, Math.round(this.#hp.subsample * n));
    const rows = new Uint32Array(m);
    for (let i = 0; i < m; i++) rows[i] = rng.nextInt(n);
    const tree = growTree(
      this.#binned,
      rows,
      { kind: "gini", y, classes },
      {
        maxDepth: this.#hp.max_depth,
        minSamplesSplit: this.#hp.min_samples_split,
        featuresPerSplit: featuresPerSplit(this.#hp.max_features, features),
        rng,
        checkAbort,
      },
    );
    this.#add(tree);
    return { rows: m, loss: undefined };
  }

  #add(tree: Tree): void {
    this.#trees.push(tree);
    addVotes(tree, this.#ctx.heldOut, this.#votes);
  }

  evaluate() {
    const { y, n, classes } = this.#ctx.heldOut;
    const proba = new Float64Array(this.#votes.length);
    const count = this.#trees.length;
    for (let i = 0; i < proba.length; i++) proba[i] = (this.#votes[i] as number) / count;
    return evaluateProbabilities(proba, y, n, classes);
  }

  state(): ForestState {
    return { trees: this.#trees };
  }

  artifact(): ForestArtifact {
    const { features, classes } = this.#ctx.train;
    return { model_type: "random_forest", features, classes, trees: this.#trees };
  }
}

function addVotes(tree: Tree, split: Split, votes: Float64Array): void {
  const { classes, features } = split;
  for (let r = 0; r < split.n; r++) {
    const at = leafOf(tree, split.x, r, features) * classes;
    for (let k = 0; k < classes; k++) {
      votes[r * classes + k] = (votes[r * classes + k] as number) + (tree.value[at + k] as number);
    }
  }
}

/** Class probabilities (`n × classes`) of every row of `split`. */
export function predictForest(model: ForestArtifact, split: Split): Float64Array {
  const votes = new Float64Array(split.n * model.classes);
  for (const tree of model.trees) addVotes(tree, split, votes);
  for (let i = 0; i < votes.length; i++) votes[i] = (votes[i] as number) / model.trees.length;
  return votes;
}

/** The union of the tasks' forests. */
export function uniteForests(models: ForestArtifact[]): ForestArtifact {
  const first = models[0];
  if (first === undefined) throw new RangeError("nothing to unite");
  return { ...first, trees: models.flatMap((m) => m.trees) };
}
