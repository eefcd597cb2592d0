import type { Readable } from "node:stream";
import Type from "typebox";
import { DATASET_ID, type DatasetRecord } from "../contract/datasets.ts";
import {
  ArtifactNotFoundError,
  InvalidRequestError,
  JobNotFoundError,
  ModelUnavailableError,
} from "../errors.ts";
import type { JobRecord } from "../jobs/job-record.ts";
import { isTerminalJobState } from "../jobs/job-state.ts";
import type { JobStore } from "../jobs/job-store.ts";
import type { TrainingPool } from "../training/pool.ts";
import type { NamedDatasets } from "../training/training-spec.ts";
import type { PredictResult } from "../training/types.ts";
import type { BlobInfo, BlobStore, Bucket } from "../transport/ports.ts";
import { schemaProblems } from "../validation.ts";
import { zipArtifacts } from "./artifact-zip.ts";
import { datasetIdsOf, namedDatasets } from "./dataset-spec.ts";
import type { Datasets, UploadRequest } from "./datasets.ts";
import { ARTIFACT_NAMES, artifactObject } from "./job-artifacts.ts";
import type { ModelFiles, ModelSummary } from "./model-files.ts";

const JOB_ID = "^job_[0-9a-z]{19}$";
/** Rows one predict request may hold. */
export const MAX_PREDICT_ROWS = 10_000;

export const DatasetIdQuerySchema = Type.Object(
  { dataset_id: Type.String({ pattern: DATASET_ID, description: "A data set's id." }) },
  { additionalProperties: false },
);
export const PredictRequestSchema = Type.Object(
  {
    rows: Type.Array(Type.Array(Type.Number()), {
      minItems: 1,
      maxItems: MAX_PREDICT_ROWS,
      description: `Feature rows, in the model's feature order (metrics.json lists it); 1..${MAX_PREDICT_ROWS}.`,
    }),
  },
  { additionalProperties: false },
);

/** What HEAD on a job's download answers (seed 002): ready, not yet, never, unknown. */
export type DownloadStatus = 200 | 202 | 204 | 404;

export interface ArtifactList {
  job_id: string;
  /** The job's state now. */
  status: JobRecord["status"];
  /** The set is whole (what HEAD on the download answers 200 for): it may be downloaded. */
  ready: boolean;
  artifacts: BlobInfo[];
}

export interface DataGatewayOptions {
  datasets: Datasets;
  artifacts: BlobStore;
  models: ModelFiles;
  catalog: Bucket;
  jobs: JobStore;
  pool: Pick<TrainingPool, "predict">;
}

/**
 * The gateway's data operations (DESIGN §5.1), for every door: data sets in, artifacts and
 * predictions out. Bodies arrive decoded but unchecked; each call checks its own.
 */
export class DataGateway {
  readonly #o: DataGatewayOptions;

  constructor(options: DataGatewayOptions) {
    this.#o = options;
  }

  uploadDataset(request: UploadRequest, source: AsyncIterable<Uint8Array>): Promise<DatasetRecord> {
    return this.#o.datasets.upload(request, source);
  }

  async listDatasets(): Promise<{ datasets: DatasetRecord[] }> {
    return { datasets: await this.#o.datasets.list() };
  }

  getDataset(body: unknown): Promise<DatasetRecord> {
    return this.#o.datasets.get(check(DatasetIdQuerySchema, body, "dataset query").dataset_id);
  }

  /** Removes a data set; 409 while a job not yet ended uses it. */
  async deleteDataset(body: unknown): Promise<{ dataset_id: string; deleted: true }> {
    const { dataset_id } = check(DatasetIdQuerySchema, body, "dataset query");
    await this.#o.datasets.delete(dataset_id, (id) => this.#jobsUsing(id));
    return { dataset_id, deleted: true };
  }

  /**
   * A submitted body made ready for `parseJobSpec`: the lookup of the uploaded data sets it names
   * and, for evaluate and predict, the model_type of the model it names (when not given).
   */
  async prepare(body: unknown): Promise<{ body: unknown; datasets: NamedDatasets }> {
    const found = new Map<string, DatasetRecord | Error>();
    for (const id of datasetIdsOf(body)) {
      if (!new RegExp(DATASET_ID).test(id)) continue;
      const record = await this.#o.datasets.find(id).catch((error: Error) => error);
      if (record) found.set(id, record);
    }
    const b = (typeof body === "object" && body !== null ? body : {}) as {
      task_type?: unknown;
      model?: { job_id?: unknown };
      model_type?: unknown;
    };
    const taskType = b.task_type;
    const jobId = b.model?.job_id;
    if ((taskType !== "evaluate" && taskType !== "predict") || typeof jobId !== "string") {
      return { body, datasets: namedDatasets(found) };
    }
    const model = new RegExp(JOB_ID).test(jobId) ? await this.#o.models.get(jobId) : undefined;
    if (!model) {
      const record = new RegExp(JOB_ID).test(jobId) ? await this.#o.jobs.get(jobId) : undefined;
      throw new InvalidRequestError("job spec", [
        {
          path: "/model/job_id",
          message: record
            ? `job '${jobId}' has no model (it is ${record.value.status}; a completed training job has one)`
            : `no job '${jobId}'`,
        },
      ]);
    }
    const { model_type } = model.summary;
    if (b.model_type !== undefined && b.model_type !== model_type) {
      throw new InvalidRequestError("job spec", [
        { path: "/model_type", message: `the model of '${jobId}' is a ${model_type}` },
      ]);
    }
    return {
      body: { ...b, model_type },
      datasets: namedDatasets(found, { model: model.summary, taskType }),
    };
  }

  async artifacts(body: unknown): Promise<ArtifactList> {
    const { job_id } = check(JobIdSchema, body, "artifacts query");
    const record = await this.#o.jobs.get(job_id);
    if (!record) throw new JobNotFoundError(job_id);
    const stored = await this.#o.artifacts.list(`${job_id}/`);
    return {
      job_id,
      status: record.value.status,
      ready: (await this.downloadStatus({ job_id })) === 200,
      artifacts: stored.map((info) => ({ ...info, name: info.name.slice(job_id.length + 1) })),
    };
  }

  /** One artifact's content; only the names DESIGN §5.1 lists (no other path is reachable). */
  async artifact(body: unknown): Promise<{ info: BlobInfo; data: AsyncIterable<Uint8Array> }> {
    const { job_id, name } = check(ArtifactQuerySchema, body, "artifact query");
    const stored = await this.#o.artifacts.get(artifactObject(job_id, name));
    if (!stored) throw new ArtifactNotFoundError(`job '${job_id}' has no artifact ${name}`);
    return stored;
  }

  /** HEAD on the download: 200 ready, 202 not ended yet, 204 ended without artifacts or cleaned up. */
  async downloadStatus(body: unknown): Promise<DownloadStatus> {
    const { job_id } = check(JobIdSchema, body, "download query");
    const record = await this.#o.jobs.get(job_id);
    if (!record) return (await this.#o.catalog.get(`cleaned.${job_id}`)) ? 204 : 404;
    if (!isTerminalJobState(record.value.status)) return 202;
    if (record.value.status !== "COMPLETED") return 204;
    // The record says COMPLETED only once the artifacts are stored (metrics.json last): a
    // completed job without them never had any (a task's model was too large to keep).
    return (await this.#o.artifacts.info(artifactObject(job_id, "metrics.json"))) ? 200 : 204;
  }

  /** A zip of every artifact of a completed job, streamed as it is read. */
  async download(body: unknown): Promise<Readable> {
    const { job_id } = check(JobIdSchema, body, "download query");
    const status = await this.downloadStatus({ job_id });
    if (status === 404) throw new JobNotFoundError(job_id);
    if (status !== 200) {
      throw new ModelUnavailableError(
        status === 202
          ? `job '${job_id}' has not completed yet: its artifacts are not ready`
          : `job '${job_id}' ended without artifacts (not completed, or cleaned up)`,
      );
    }
    const entries = [];
    for (const info of await this.#o.artifacts.list(`${job_id}/`)) {
      const stored = await this.#o.artifacts.get(info.name);
      if (stored) entries.push({ name: info.name.slice(job_id.length + 1), data: stored.data });
    }
    return zipArtifacts(entries);
  }

  /** Predictions of a completed job's model, computed in the pool. */
  async predict(jobId: unknown, body: unknown): Promise<PredictResult & { job_id: string }> {
    const { job_id } = check(JobIdSchema, { job_id: jobId }, "predict request");
    const { rows } = check(PredictRequestSchema, body, "predict request");
    const model = await this.#model(job_id);
    const { features } = model.metrics;
    const problems = rows.flatMap((row, r) =>
      row.length === features.length
        ? []
        : [
            {
              path: `/rows/${r}`,
              message: `has ${row.length} values; the model takes ${features.length} (${features.join(", ")})`,
            },
          ],
    );
    if (problems.length > 0)
      throw new InvalidRequestError("predict request", problems.slice(0, 20));
    return { job_id, ...(await this.#o.pool.predict({ model_json: model.json, rows })) };
  }

  async #model(jobId: string): Promise<{ json: string; metrics: ModelSummary }> {
    const found = await this.#o.models.get(jobId);
    if (found) return { json: found.json, metrics: found.summary };
    const record = await this.#o.jobs.get(jobId);
    if (!record) throw new JobNotFoundError(jobId);
    const { status, spec } = record.value;
    throw new ModelUnavailableError(
      spec.task_type
        ? `job '${jobId}' is a ${spec.task_type} job: it has no model of its own`
        : `job '${jobId}' has no model: it is ${status}${status === "COMPLETED" ? " and its artifacts are not written yet" : ""}`,
    );
  }

  /** Jobs not yet ended that name the data set. */
  async #jobsUsing(datasetId: string): Promise<string[]> {
    const using: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await this.#o.jobs.list({ limit: 1000, ...(cursor && { cursor }) });
      for (const job of page.jobs) if (uses(job, datasetId)) using.push(job.job_id);
      if (!page.next_cursor) return using;
      cursor = page.next_cursor;
    }
  }
}

function uses(job: JobRecord, datasetId: string): boolean {
  return !isTerminalJobState(job.status) && job.spec.dataset.dataset_id === datasetId;
}

const JobIdSchema = Type.Object(
  { job_id: Type.String({ pattern: JOB_ID, description: "A job id as returned by submit." }) },
  { additionalProperties: false },
);
export const ArtifactQuerySchema = Type.Object(
  {
    job_id: JobIdSchema.properties.job_id,
    name: Type.Enum([...ARTIFACT_NAMES], { description: "An artifact's name." }),
  },
  { additionalProperties: false },
);

function check<S extends Type.TSchema>(schema: S, body: unknown, what: string): Type.Static<S> {
  const problems = schemaProblems(schema, body);
  if (problems.length > 0) throw new InvalidRequestError(what, problems);
  return body as Type.Static<S>;
}
