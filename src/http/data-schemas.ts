/** The HTTP schemas of data sets, artifacts and predictions (DESIGN §5.1), for replies and OpenAPI. */
import Type from "typebox";
import { PredictRequestSchema } from "../artifacts/data-gateway.ts";
import { ARTIFACT_NAMES } from "../artifacts/job-artifacts.ts";
import { DATASET_ID } from "../contract/datasets.ts";
import { JobIdQuerySchema } from "../jobs/gateway.ts";

export { PredictRequestSchema };

export const DatasetParamsSchema = Type.Object(
  { id: Type.String({ pattern: DATASET_ID, description: "A data set's id." }) },
  { additionalProperties: false },
);

export const UploadQuerySchema = Type.Object(
  {
    name: Type.Optional(
      Type.String({
        pattern: DATASET_ID,
        description: "The data set's id (default: the file name).",
      }),
    ),
    target_column: Type.Optional(
      Type.String({
        minLength: 1,
        description: "The column predicted by default (default: the last).",
      }),
    ),
  },
  { additionalProperties: false },
);

/** A file in a request, as OpenAPI 3.0 writes it. */
const Binary = (description: string, example?: string) =>
  Type.Unsafe<unknown>({
    type: "string",
    format: "binary",
    description,
    ...(example !== undefined && { examples: [example] }),
  });

const CSV_EXAMPLE =
  "sepal_length,sepal_width,petal_length,petal_width,species\n5.1,3.5,1.4,0.2,setosa\n7.0,3.2,4.7,1.4,versicolor\n6.3,3.3,6.0,2.5,virginica\n";

/**
 * `POST /api/v1/datasets`'s body, for OpenAPI: the gateway reads it as a stream and checks it
 * itself (a CSV is never held whole, so there is nothing for fastify to validate).
 */
export const DatasetUploadBodySchema = {
  content: {
    "multipart/form-data": {
      schema: Type.Object(
        {
          name: Type.Optional(
            Type.String({
              pattern: DATASET_ID,
              description: "The data set's id (default: the file's name without its extension).",
            }),
          ),
          target_column: Type.Optional(
            Type.String({ description: "The column predicted by default (default: the last)." }),
          ),
          file: Binary(
            "The CSV: a header row, then rows; fields before it are read, after it not.",
          ),
        },
        {
          required: ["file"],
          examples: [{ name: "iris", target_column: "species", file: CSV_EXAMPLE }],
        },
      ),
    },
    "text/csv": {
      schema: Binary("The CSV itself (name it with ?name=…).", CSV_EXAMPLE),
    },
  },
};

/** Seed 002's `POST /upload` body, for OpenAPI (read part by part by the handler). */
export const SeedUploadBodySchema = {
  content: {
    "multipart/form-data": {
      schema: Type.Object(
        {
          files: Type.Array(
            Binary("A .csv file (the data set), and optionally a .json or .yaml job spec."),
            { minItems: 1, maxItems: 4 },
          ),
          user_id: Type.Optional(Type.String({ description: "Whose job it is." })),
          service: Type.Optional(
            Type.String({ description: "The service the job counts against (quotas)." }),
          ),
        },
        {
          required: ["files"],
          examples: [
            {
              files: [CSV_EXAMPLE, '{"model_type": "random_forest", "tasks": 2}'],
              user_id: "carol",
              service: "prediction",
            },
          ],
        },
      ),
    },
  },
};

export const DatasetRecordSchema = Type.Object(
  {
    dataset_id: Type.String(),
    object: Type.String({ description: "Its object in the troupe_datasets bucket." }),
    rows: Type.Integer({ description: "Data rows (the header excluded)." }),
    columns: Type.Array(
      Type.Object({
        name: Type.String(),
        type: Type.Enum(["number", "text"]),
        values: Type.Optional(
          Type.Array(Type.String(), { description: "Distinct values, when at most 100." }),
        ),
      }),
    ),
    target_column: Type.String({ description: "Predicted by default (jobs may name another)." }),
    features: Type.Array(Type.String(), { description: "Every column but the target." }),
    classes: Type.Union([Type.Array(Type.String()), Type.Null()], {
      description: "The target's classes in class-id order.",
    }),
    size_bytes: Type.Integer(),
    sha256: Type.String(),
    created_at: Type.String({ description: "When it was stored (ISO 8601)." }),
  },
  {
    examples: [
      {
        dataset_id: "iris",
        object: "iris.csv",
        rows: 150,
        columns: [
          { name: "sepal_length", type: "number" },
          { name: "species", type: "text", values: ["setosa", "versicolor", "virginica"] },
        ],
        target_column: "species",
        features: ["sepal_length"],
        classes: ["setosa", "versicolor", "virginica"],
        size_bytes: 4551,
        sha256: "0f1e…",
        created_at: "2026-12-03T16:00:00.000Z",
      },
    ],
  },
);

export const DatasetListSchema = Type.Object({ datasets: Type.Array(DatasetRecordSchema) });
export const DatasetDeletedSchema = Type.Object({
  dataset_id: Type.String(),
  deleted: Type.Literal(true),
});

const BlobInfoSchema = Type.Object({
  name: Type.String(),
  size: Type.Integer(),
  sha256: Type.String(),
  modified: Type.String(),
});

export const ArtifactListSchema = Type.Object(
  {
    job_id: Type.String(),
    status: Type.String({ description: "The job's state." }),
    ready: Type.Boolean({
      description: "The set is whole and may be downloaded (HEAD on the download answers 200).",
    }),
    artifacts: Type.Array(BlobInfoSchema),
  },
  {
    examples: [
      {
        job_id: "job_0mip1k2a3b4c5d6e7f8",
        status: "COMPLETED",
        ready: true,
        artifacts: [{ name: "model.json", size: 91234, sha256: "…", modified: "…" }],
      },
    ],
  },
);

export const ArtifactParamsSchema = Type.Object(
  {
    id: JobIdQuerySchema.properties.job_id,
    name: Type.Enum([...ARTIFACT_NAMES], { description: "An artifact's name." }),
  },
  { additionalProperties: false },
);

export const PredictReplySchema = Type.Object(
  {
    job_id: Type.String(),
    predictions: Type.Array(Type.String(), { description: "A class label a row." }),
    probabilities: Type.Array(Type.Array(Type.Number()), {
      description: "Class probabilities a row, in `classes` order.",
    }),
    classes: Type.Array(Type.String()),
  },
  {
    examples: [
      {
        job_id: "job_0mip1k2a3b4c5d6e7f8",
        predictions: ["setosa"],
        probabilities: [[0.97, 0.02, 0.01]],
        classes: ["setosa", "versicolor", "virginica"],
      },
    ],
  },
);

/** Seed 002's /upload reply: the job (its id twice: the seed's `id`) and the data set. */
export const SeedUploadReplySchema = Type.Object(
  {
    id: Type.String({ description: "The job's id (seed 002's name)." }),
    job_id: Type.String(),
    dataset_id: Type.String(),
    status: Type.String(),
  },
  {
    examples: [
      {
        id: "job_0mip1k2a3b4c5d6e7f8",
        job_id: "job_0mip1k2a3b4c5d6e7f8",
        dataset_id: "measurements-mip1k2a3",
        status: "SUBMITTED",
      },
    ],
  },
);
