/**
 * The training parts of the job spec (DESIGN §2.1), as TypeBox schemas: `dataset`, `epochs` and one
 * flat snake_case `hyperparameters` object per model type. Each property documents its default and
 * range; the schemas carry them too (`default`, `minimum`, `maximum`, `description`), so OpenAPI
 * shows them. Bounds that involve several fields are checked by `checkTrainingBounds`.
 */
import Type, { type Static } from "typebox";
import { MODEL_TYPES, type ModelType } from "./limits.ts";

/** `model_type`: `logistic_regression` | `neural_network` | `random_forest` | `xgboost` | `svm`. */
export const ModelTypeSchema = Type.Enum([...MODEL_TYPES], {
  description:
    "Model family: logistic_regression | neural_network | random_forest | xgboost | svm (linear, hinge loss).",
});

/**
 * Synthetic classification data, deterministic by seed; or, with `dataset_id`, a named data set
 * (a built-in sample such as `iris`), whose size and classes are its own.
 */
export const DatasetSchema = Type.Object(
  {
    /** A named data set instead of synthetic data: a built-in sample (`iris`). */
    dataset_id: Type.Optional(
      Type.String({
        pattern: "^[A-Za-z0-9_.-]{1,128}$",
        description:
          "A named data set instead of synthetic data: an uploaded one (POST /api/v1/datasets, or `nats obj put troupe_datasets <id>.csv`) or a built-in sample (iris). Its rows, features and classes are its own; seed shuffles its rows into the held-out split and the shards.",
      }),
    ),
    /** Held-out share of the rows (default: a fifth, at most 5,000 rows). */
    test_fraction: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 0.9,
        description:
          "Share of the rows held out for validation, (0, 0.9] (default: a fifth, at most 5000 rows). Which rows: the first ones once seed has shuffled them (metrics.json lists them).",
      }),
    ),
    /** The column a named data set is classified by (default: its own, e.g. species). */
    target_column: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 128,
        description: "With dataset_id: the column to predict (default: the data set's own).",
      }),
    ),
    /** Rows in the whole dataset, held-out split included. Default 10 000; 50..1 000 000. */
    samples: Type.Optional(
      Type.Integer({
        minimum: 50,
        maximum: 1_000_000,
        default: 10_000,
        description: "Rows, 50..1e6 (default 10000); samples × features ≤ 1e7.",
      }),
    ),
    /** Features per row. Default 20; 1..1000. */
    features: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1000,
        default: 20,
        description: "Features per row, 1..1000 (default 20).",
      }),
    ),
    /** Classes. Default 2; 2..100. */
    classes: Type.Optional(
      Type.Integer({
        minimum: 2,
        maximum: 100,
        default: 2,
        description: "Classes, 2..100 (default 2).",
      }),
    ),
    /** Seed of the data, of the initial weights and of every task's random stream. Default 0. */
    seed: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 4_294_967_295,
        default: 0,
        description: "Seed, 0..2^32-1 (default 0).",
      }),
    ),
    /**
     * Within-class standard deviation, relative to the spread of the class centres (1 per
     * feature). 0 gives points on the centres; larger values overlap the classes. Default 1; 0..10.
     */
    noise: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 10,
        default: 1,
        description: "Within-class std relative to the class-centre spread, 0..10 (default 1).",
      }),
    ),
  },
  { additionalProperties: false },
);

/** Default of `epochs`. */
export const DEFAULT_EPOCHS = 10;

/** Epochs of a gradient-trained model (trees count rounds with `n_trees`). Default 10; 1..1000. */
export const EpochsSchema = Type.Integer({
  minimum: 1,
  maximum: 1000,
  default: 10,
  description:
    "Passes over the shard for logistic_regression, neural_network and svm, 1..1000 (default 10); for random_forest and xgboost, the number of trees (hyperparameters.n_trees, which it sets).",
});

const learningRate = (fallback: number, maximum: number) =>
  Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      maximum,
      default: fallback,
      description: `Step size, (0, ${maximum}] (default ${fallback}).`,
    }),
  );
const batchSize = Type.Optional(
  Type.Integer({
    minimum: 1,
    maximum: 4096,
    default: 32,
    description: "Rows per mini-batch, 1..4096 (default 32).",
  }),
);
const l2 = Type.Optional(
  Type.Number({
    minimum: 0,
    maximum: 1,
    default: 0,
    description: "L2 weight decay, 0..1 (default 0).",
  }),
);
const nBins = Type.Optional(
  Type.Integer({
    minimum: 2,
    maximum: 255,
    default: 32,
    description: "Histogram bins per feature for split finding, 2..255 (default 32).",
  }),
);
const minSamplesSplit = Type.Optional(
  Type.Integer({
    minimum: 2,
    maximum: 100_000,
    default: 2,
    description: "Fewest rows a node needs to be split, 2..100000 (default 2).",
  }),
);
const subsample = (what: string) =>
  Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      default: 1,
      description: `${what}, (0, 1] (default 1).`,
    }),
  );

/** `logistic_regression`: mini-batch SGD; sigmoid for 2 classes, softmax beyond. */
export const LogisticRegressionHyperparametersSchema = Type.Object(
  {
    /** SGD step. Default 0.1; (0, 10]. */
    learning_rate: learningRate(0.1, 10),
    /** Rows per mini-batch. Default 32; 1..4096. */
    batch_size: batchSize,
    /** L2 weight decay. Default 0; 0..1. */
    l2,
  },
  { additionalProperties: false },
);

/** `neural_network`: one or two ReLU hidden layers, backprop, SGD or Adam. */
export const NeuralNetworkHyperparametersSchema = Type.Object(
  {
    /** Step size. Default 0.01 (suits Adam; SGD usually wants 0.05–0.5); (0, 10]. */
    learning_rate: learningRate(0.01, 10),
    /** Rows per mini-batch. Default 32; 1..4096. */
    batch_size: batchSize,
    /** Units per hidden layer. Default 32; 1..1024. */
    hidden_units: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1024,
        default: 32,
        description: "Units per hidden layer, 1..1024 (default 32).",
      }),
    ),
    /** Hidden layers. Default 1; 1..2. */
    hidden_layers: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 2,
        default: 1,
        description: "Hidden layers, 1..2 (default 1).",
      }),
    ),
    /** Optimizer. Default `adam`; `sgd` | `adam` (β1 0.9, β2 0.999, ε 1e-8). */
    optimizer: Type.Optional(
      Type.Enum(["sgd", "adam"], { default: "adam", description: "sgd | adam (default adam)." }),
    ),
    /** L2 weight decay. Default 0; 0..1. */
    l2,
  },
  { additionalProperties: false },
);

/** `random_forest`: bagged decision trees, Gini impurity, histogram splits. One tree an epoch. */
export const RandomForestHyperparametersSchema = Type.Object(
  {
    /** Trees. Default 30; 1..500. */
    n_trees: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 500,
        default: 30,
        description: "Trees, 1..500 (default 30).",
      }),
    ),
    /** Depth limit. Default 10; 1..20. */
    max_depth: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 20,
        default: 10,
        description: "Tree depth limit, 1..20 (default 10).",
      }),
    ),
    /** Fewest rows a node needs to be split. Default 2; 2..100 000. */
    min_samples_split: minSamplesSplit,
    /** Features tried per split: `sqrt` (√features) or a fraction. Default `sqrt`; (0, 1]. */
    max_features: Type.Optional(
      Type.Union([Type.Literal("sqrt"), Type.Number({ exclusiveMinimum: 0, maximum: 1 })], {
        default: "sqrt",
        description: 'Features tried per split: "sqrt" or a fraction in (0, 1] (default "sqrt").',
      }),
    ),
    /** Bootstrap sample size as a fraction of the shard (drawn with replacement). Default 1. */
    subsample: subsample("Bootstrap size as a fraction of the shard"),
    /** Histogram bins per feature. Default 32; 2..255. */
    n_bins: nBins,
  },
  { additionalProperties: false },
);

/** `xgboost`: gradient-boosted regression trees on log-loss (softmax, one tree per class a round). */
export const XgboostHyperparametersSchema = Type.Object(
  {
    /** Boosting rounds (one epoch each). Default 50; 1..1000. */
    n_trees: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1000,
        default: 50,
        description: "Boosting rounds, 1..1000 (default 50).",
      }),
    ),
    /** Depth limit. Default 4; 1..12. */
    max_depth: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 12,
        default: 4,
        description: "Tree depth limit, 1..12 (default 4).",
      }),
    ),
    /** Shrinkage (eta). Default 0.3; (0, 1]. */
    learning_rate: learningRate(0.3, 1),
    /** Fewest rows a node needs to be split. Default 2; 2..100 000. */
    min_samples_split: minSamplesSplit,
    /** Least hessian sum in a child. Default 1; 0..1e6. */
    min_child_weight: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1e6,
        default: 1,
        description: "Least hessian sum in a child, 0..1e6 (default 1).",
      }),
    ),
    /** L2 regularization of leaf weights (lambda). Default 1; 0..1e6. */
    reg_lambda: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1e6,
        default: 1,
        description: "L2 on leaf weights, 0..1e6 (default 1).",
      }),
    ),
    /** Rows sampled (without replacement) for each round. Default 1; (0, 1]. */
    subsample: subsample("Rows sampled for each round"),
    /** Histogram bins per feature. Default 32; 2..255. */
    n_bins: nBins,
  },
  { additionalProperties: false },
);

/** `svm`: a linear support vector machine (hinge loss, L2), one-vs-rest beyond two classes. */
export const SvmHyperparametersSchema = Type.Object(
  {
    /** SGD step. Default 0.01; (0, 10]. */
    learning_rate: learningRate(0.01, 10),
    /** Rows per mini-batch. Default 32; 1..4096. */
    batch_size: batchSize,
    /** Inverse regularization strength, as scikit-learn's C. Default 1; (0, 1e6]. */
    c: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 1e6,
        default: 1,
        description:
          "Inverse regularization strength, as scikit-learn's C (alias C): the L2 penalty is 1 / (c × shard rows), (0, 1e6] (default 1).",
      }),
    ),
  },
  { additionalProperties: false },
);

/** The hyperparameter schema of each model type. */
export const HyperparameterSchemas = Object.freeze({
  logistic_regression: LogisticRegressionHyperparametersSchema,
  neural_network: NeuralNetworkHyperparametersSchema,
  random_forest: RandomForestHyperparametersSchema,
  xgboost: XgboostHyperparametersSchema,
  svm: SvmHyperparametersSchema,
} satisfies Record<ModelType, unknown>);

/**
 * A dataset spec with every default applied (a named one's size and classes filled in; an
 * uploaded one's content hash, which the pool threads key their parsed copy by).
 */
export type DatasetSpec = Required<
  Omit<Static<typeof DatasetSchema>, "dataset_id" | "target_column" | "test_fraction">
> & { dataset_id?: string; target_column?: string; test_fraction?: number; content_hash?: string };
export type LogisticRegressionHyperparameters = Required<
  Static<typeof LogisticRegressionHyperparametersSchema>
>;
export type NeuralNetworkHyperparameters = Required<
  Static<typeof NeuralNetworkHyperparametersSchema>
>;
export type RandomForestHyperparameters = Required<
  Static<typeof RandomForestHyperparametersSchema>
>;
export type XgboostHyperparameters = Required<Static<typeof XgboostHyperparametersSchema>>;
export type SvmHyperparameters = Required<Static<typeof SvmHyperparametersSchema>>;

/** Hyperparameters with every default applied, by model type. */
export interface HyperparametersByModel {
  logistic_regression: LogisticRegressionHyperparameters;
  neural_network: NeuralNetworkHyperparameters;
  random_forest: RandomForestHyperparameters;
  xgboost: XgboostHyperparameters;
  svm: SvmHyperparameters;
}
