import { Readable } from "node:stream";
import multipart from "@fastify/multipart";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import Type from "typebox";
import { parse as parseYaml } from "yaml";
import type { DataGateway } from "../../artifacts/data-gateway.ts";
import type { UploadRequest } from "../../artifacts/datasets.ts";
import type { DatasetRecord } from "../../contract/datasets.ts";
import { InvalidRequestError, NotReadyError } from "../../errors.ts";
import type { SubmitReply } from "../../jobs/gateway.ts";
import { JobSpecSchema } from "../../jobs/job-spec.ts";
import {
  ArtifactListSchema,
  ArtifactParamsSchema,
  DatasetDeletedSchema,
  DatasetListSchema,
  DatasetParamsSchema,
  DatasetRecordSchema,
  DatasetUploadBodySchema,
  PredictReplySchema,
  PredictRequestSchema,
  SeedUploadBodySchema,
  SeedUploadReplySchema,
  UploadQuerySchema,
} from "../data-schemas.ts";
import { JobIdParamsSchema, PROBLEM_RESPONSES } from "../schemas.ts";
import { gatewayValidatesBody } from "../validation.ts";

export interface DataRoutesOptions {
  data: DataGateway | undefined;
  /** Submits a job spec (the gateway's submit): seed 002's /upload submits one. */
  submit(spec: unknown): Promise<SubmitReply>;
}

/** A file in a reply, for OpenAPI (streams are sent as they are, never serialized). */
const FileReply = (description: string) =>
  Type.Unsafe<unknown>({ type: "string", format: "binary", description });

/** An answer told by its status alone (HEAD), for OpenAPI. */
const NoBody = (description: string) => Type.Unsafe<undefined>({ description });

/** A refused upload's remaining bytes are read and dropped (so the client sees the answer), up to this. */
const DRAIN_LIMIT_BYTES = 1024 * 1024 * 1024;
const CSV_TYPES = ["text/csv", "application/csv", "application/octet-stream"];
const TYPES: Record<string, string> = { json: "application/json", csv: "text/csv" };

/** Data sets in, artifacts and predictions out (DESIGN §5.1): thin handlers over the gateway. */
export const dataRoutes: FastifyPluginAsyncTypebox<DataRoutesOptions> = async (app, options) => {
  const data = () => {
    if (!options.data) throw new NotReadyError("this process serves no data sets");
    return options.data;
  };
  // A CSV body is streamed, not parsed: it goes to the object store as it arrives.
  app.addContentTypeParser(CSV_TYPES, (_request, payload, done) => done(null, payload));
  await app.register(multipart, {
    limits: { files: 4, fields: 20, fileSize: Number.MAX_SAFE_INTEGER },
  });

  app.post(
    "/api/v1/datasets",
    {
      // The body is a stream the gateway checks as it stores it; its schema is for OpenAPI.
      validatorCompiler: gatewayValidatesBody,
      schema: {
        tags: ["datasets"],
        summary: "Upload a data set (multipart file, or a text/csv body)",
        description:
          "Streamed into the troupe_datasets object store while a pool thread checks it: a header row, numeric feature columns, a target column of 2..100 classes. Over MAX_DATASET_BYTES: 413, nothing stored. Multipart fields before the file: name, target_column.",
        querystring: UploadQuerySchema,
        body: DatasetUploadBodySchema,
        response: { 201: DatasetRecordSchema, ...PROBLEM_RESPONSES },
      },
    },
    async (request, reply) => {
      const record = await upload(data(), request, request.query);
      return reply.code(201).send(record);
    },
  );

  app.get(
    "/api/v1/datasets",
    {
      schema: {
        tags: ["datasets"],
        summary: "Every data set",
        response: { 200: DatasetListSchema, ...PROBLEM_RESPONSES },
      },
    },
    async () => data().listDatasets(),
  );

  app.get(
    "/api/v1/datasets/:id",
    {
      schema: {
        tags: ["datasets"],
        summary: "A data set's record: rows, columns, features, classes, sha256, size",
        params: DatasetParamsSchema,
        response: { 200: DatasetRecordSchema, ...PROBLEM_RESPONSES },
      },
    },
    async (request) => data().getDataset({ dataset_id: request.params.id }),
  );

  app.delete(
    "/api/v1/datasets/:id",
    {
      schema: {
        tags: ["datasets"],
        summary: "Delete a data set (409 while a job not yet ended uses it)",
        params: DatasetParamsSchema,
        response: { 200: DatasetDeletedSchema, ...PROBLEM_RESPONSES },
      },
    },
    async (request) => data().deleteDataset({ dataset_id: request.params.id }),
  );

  app.get(
    "/api/v1/jobs/:id/artifacts",
    {
      schema: {
        tags: ["artifacts"],
        summary: "A job's artifacts (model.json, metrics.json, history.csv, spec.json)",
        params: JobIdParamsSchema,
        response: { 200: ArtifactListSchema, ...PROBLEM_RESPONSES },
      },
    },
    async (request) => data().artifacts({ job_id: request.params.id }),
  );

  app.get(
    "/api/v1/jobs/:id/artifacts/:name",
    {
      schema: {
        tags: ["artifacts"],
        summary: "One artifact",
        params: ArtifactParamsSchema,
        response: { 200: FileReply("The artifact (JSON or CSV)."), ...PROBLEM_RESPONSES },
      },
    },
    async (request, reply) => {
      const { id, name } = request.params;
      const stored = await data().artifact({ job_id: id, name });
      const extension = name.slice(name.lastIndexOf(".") + 1);
      return reply
        .type(TYPES[extension] ?? "application/octet-stream")
        .header("content-length", stored.info.size)
        .send(toStream(stored.data));
    },
  );

  for (const [url, summary] of [
    ["/api/v1/jobs/:id/download", "A zip of a completed job's artifacts"],
    ["/download/:id", "Seed 002's route for /api/v1/jobs/:id/download"],
  ] as const) {
    app.get(
      url,
      {
        exposeHeadRoute: false,
        schema: {
          tags: ["artifacts"],
          summary,
          params: JobIdParamsSchema,
          response: { 200: FileReply("A zip of the artifacts."), ...PROBLEM_RESPONSES },
        },
      },
      async (request, reply) => {
        const zip = await data().download({ job_id: request.params.id });
        return reply
          .type("application/zip")
          .header("content-disposition", `attachment; filename="${request.params.id}.zip"`)
          .send(zip);
      },
    );
    app.head(
      url,
      {
        config: { swagger: { exposeHeadRoute: true } },
        schema: {
          tags: ["artifacts"],
          summary:
            "Download status: 200 completed and ready, 202 not ended yet, 204 failed, cancelled, timed out or cleaned up, 404 unknown",
          params: JobIdParamsSchema,
          response: {
            200: NoBody("Completed: the download is ready."),
            202: NoBody("Submitted, waiting, queued, running or paused."),
            204: NoBody("Failed, cancelled, timed out, or cleaned up: no download."),
            404: NoBody("No such job was ever seen."),
          },
        },
      },
      async (request, reply) =>
        reply.code(await data().downloadStatus({ job_id: request.params.id })).send(),
    );
  }

  app.post(
    "/upload",
    {
      validatorCompiler: gatewayValidatesBody,
      schema: {
        tags: ["datasets"],
        summary: "Seed 002's upload: a CSV becomes a data set and a job trains on it",
        description:
          "Multipart: files (a .csv file, the data set; an optional .json or .yaml job spec, else random_forest with default settings), user_id, service. The job's dataset is the uploaded one.",
        body: SeedUploadBodySchema,
        response: { 202: SeedUploadReplySchema, ...PROBLEM_RESPONSES },
      },
    },
    async (request, reply) =>
      reply.code(202).send(await seedUpload(data(), options.submit, request)),
  );

  app.post(
    "/api/v1/jobs/:id/predict",
    {
      schema: {
        tags: ["artifacts"],
        summary: "Predict rows with a completed job's model (computed in the pool)",
        params: JobIdParamsSchema,
        body: PredictRequestSchema,
        response: { 200: PredictReplySchema, ...PROBLEM_RESPONSES },
      },
    },
    async (request) => data().predict(request.params.id, request.body),
  );
};

/** The upload of a multipart file (fields before it) or of a CSV body. */
async function upload(
  data: DataGateway,
  request: FastifyRequest,
  query: { name?: string | undefined; target_column?: string | undefined },
) {
  const described: UploadRequest = { dataset_id: query.name, target_column: query.target_column };
  if (!request.isMultipart()) {
    const body = request.body as Readable | undefined;
    if (!body || typeof body.pipe !== "function") {
      throw new InvalidRequestError("upload", [
        { path: "", message: "send the CSV as a multipart file or with Content-Type: text/csv" },
      ]);
    }
    return refusedDrains(body, () => data.uploadDataset(described, kept(body)));
  }
  for await (const part of request.parts()) {
    if (part.type === "field") {
      const value = String(part.value);
      if (part.fieldname === "name" || part.fieldname === "dataset_id")
        described.dataset_id = value;
      if (part.fieldname === "target_column") described.target_column = value;
      continue;
    }
    described.filename = part.filename;
    return refusedDrains(part.file, () => data.uploadDataset(described, kept(part.file)));
  }
  throw new InvalidRequestError("upload", [{ path: "/file", message: "no file in the upload" }]);
}

/** Largest spec file /upload reads. */
const MAX_SPEC_BYTES = 256 * 1024;

/** Seed 002's /upload: the CSV is stored first, then the spec (or a default) is submitted on it. */
async function seedUpload(
  data: DataGateway,
  submit: DataRoutesOptions["submit"],
  request: FastifyRequest,
) {
  if (!request.isMultipart()) {
    throw new InvalidRequestError("upload", [
      { path: "", message: "expected multipart/form-data" },
    ]);
  }
  const fields: Record<string, string> = {};
  let spec: Record<string, unknown> | undefined;
  let dataset: DatasetRecord | undefined;
  for await (const part of request.parts()) {
    if (part.type === "field") {
      fields[part.fieldname] = String(part.value);
      continue;
    }
    const name = part.filename ?? "";
    if (/\.(json|ya?ml)$/i.test(name)) {
      const text = (await part.toBuffer()).toString("utf8");
      if (text.length > MAX_SPEC_BYTES)
        throw new InvalidRequestError("upload", [
          { path: `/${name}`, message: "spec file too large" },
        ]);
      spec = parseSpecFile(name, text);
      continue;
    }
    const base = name
      .replace(/^.*[\\/]/, "")
      .replace(/\.[^.]*$/, "")
      .replace(/[^A-Za-z0-9_-]/g, "_");
    const id = `${base || "upload"}-${Date.now().toString(36)}`;
    dataset = await refusedDrains(part.file, () =>
      data.uploadDataset({ dataset_id: id }, kept(part.file)),
    );
  }
  if (!dataset)
    throw new InvalidRequestError("upload", [
      { path: "/files", message: "no .csv file in the upload" },
    ]);
  const job: Record<string, unknown> = { model_type: "random_forest", ...spec };
  job.dataset = { ...(job.dataset as object | undefined), dataset_id: dataset.dataset_id };
  if (fields.user_id !== undefined) job.user_id = fields.user_id;
  // `service` (DESIGN §5.3) is passed on once the job spec has it.
  if (fields.service !== undefined && "service" in JobSpecSchema.properties)
    job.service = fields.service;
  const submitted = await submit(job);
  return {
    id: submitted.job_id,
    job_id: submitted.job_id,
    dataset_id: dataset.dataset_id,
    status: submitted.status,
  };
}

function parseSpecFile(name: string, text: string): Record<string, unknown> {
  let spec: unknown;
  try {
    spec = /\.json$/i.test(name) ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new InvalidRequestError("upload", [
      { path: `/${name}`, message: `not valid: ${(error as Error).message}` },
    ]);
  }
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
    throw new InvalidRequestError("upload", [
      { path: `/${name}`, message: "must hold a job spec object" },
    ]);
  }
  return spec as Record<string, unknown>;
}

/** Runs the upload; if it is refused, reads and drops what is left of the body first. */
async function refusedDrains<T>(body: Readable, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    let dropped = 0;
    for await (const chunk of body) {
      dropped += (chunk as Buffer).byteLength;
      if (dropped > DRAIN_LIMIT_BYTES) break;
    }
    throw error;
  }
}

/** The body's chunks; a refusal stops reading without destroying it (it is drained after). */
function kept(body: Readable): AsyncIterable<Uint8Array> {
  return { [Symbol.asyncIterator]: () => body.iterator({ destroyOnReturn: false }) };
}

function toStream(chunks: AsyncIterable<Uint8Array>): Readable {
  return Readable.from(chunks, { objectMode: false });
}
