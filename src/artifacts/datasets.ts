import type { Clock } from "../clock.ts";
import {
  type CsvSummary,
  DATASET_ID,
  type DatasetRecord,
  datasetObject,
} from "../contract/datasets.ts";
import {
  DatasetConflictError,
  DatasetInvalidError,
  DatasetNotFoundError,
  DatasetTooLargeError,
  InvalidRequestError,
} from "../errors.ts";
import { BUILTIN_DATASET_IDS } from "../training/datasets/builtin.ts";
import type { TrainingPool } from "../training/pool.ts";
import type { BlobInfo, BlobStore, Bucket } from "../transport/ports.ts";
import { DatasetBytes } from "./dataset-bytes.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const ID = new RegExp(DATASET_ID);

export interface DatasetsOptions {
  store: BlobStore;
  catalog: Bucket;
  pool: Pick<TrainingPool, "scanCsv">;
  /** MAX_DATASET_BYTES: a larger upload is refused (413) and leaves nothing behind. */
  maxBytes: number;
  clock: Clock;
}

/** What an upload says of itself besides its bytes. */
export interface UploadRequest {
  /** The id chosen by the user; default: the file name without its extension. */
  dataset_id?: string | undefined;
  filename?: string | undefined;
  /** The column to predict by default (default: the last one); checked now when given. */
  target_column?: string | undefined;
}

/**
 * Uploaded data sets (DESIGN §5.1): stored in the datasets bucket as `<id>.csv` while a pool
 * thread checks them, described by a catalog record. A file put there by other means (the nats
 * CLI) is checked and described at its first use.
 */
export class Datasets {
  readonly #o: DatasetsOptions;
  /** Data sets' bytes for the pool threads, by content hash. */
  readonly bytes: DatasetBytes;

  constructor(options: DatasetsOptions) {
    this.#o = options;
    this.bytes = new DatasetBytes(options.store);
  }

  /**
   * Streams `source` into the bucket while a pool thread checks it. Refused (nothing stored):
   * an id taken, a file over MAX_DATASET_BYTES, not a CSV with a header row and numeric columns.
   */
  async upload(request: UploadRequest, source: AsyncIterable<Uint8Array>): Promise<DatasetRecord> {
    const id = datasetIdOf(request);
    const object = datasetObject(id);
    if (BUILTIN_DATASET_IDS.includes(id) || (await this.#o.store.info(object))) {
      throw new DatasetConflictError(
        `a data set '${id}' exists already: delete it first, or upload under another name`,
      );
    }
    const scanner = this.#o.pool.scanCsv();
    const { maxBytes } = this.#o;
    async function* checked(): AsyncGenerator<Uint8Array> {
      let total = 0;
      for await (const chunk of source) {
        total += chunk.byteLength;
        if (total > maxBytes) throw new DatasetTooLargeError(maxBytes);
        await scanner.write(chunk);
        yield chunk;
      }
    }
    let info: BlobInfo;
    try {
      info = await this.#o.store.put(object, checked());
    } catch (error) {
      scanner.stop();
      throw error;
    }
    try {
      const record = describe(id, await scanner.end(), info, request.target_column);
      await this.#o.catalog.put(catalogKey(id), encoder.encode(JSON.stringify(record)));
      return record;
    } catch (error) {
      await this.#o.store.delete(object);
      throw error;
    }
  }

  /** Every data set, each described (a file not yet checked is checked now). */
  async list(): Promise<DatasetRecord[]> {
    const objects = await this.#o.store.list();
    const ids = objects.filter((o) => o.name.endsWith(".csv")).map((o) => o.name.slice(0, -4));
    const found = await Promise.all(ids.map((id) => this.find(id).catch(() => undefined)));
    return found.filter((r): r is DatasetRecord => r !== undefined);
  }

  /** A data set's record; DatasetNotFoundError when there is none. */
  async get(id: string): Promise<DatasetRecord> {
    checkId(id);
    const record = await this.find(id);
    if (!record) throw new DatasetNotFoundError(id);
    return record;
  }

  /**
   * A data set's record, undefined when there is no such file. A file without a record, or whose
   * content changed since (put again with the nats CLI), is checked and described now.
   */
  async find(id: string): Promise<DatasetRecord | undefined> {
    const info = await this.#o.store.info(datasetObject(id));
    if (!info) return undefined;
    const entry = await this.#o.catalog.get(catalogKey(id));
    const known = entry && (JSON.parse(decoder.decode(entry.value)) as DatasetRecord);
    if (known && known.sha256 === info.sha256) return known;
    const stored = await this.#o.store.get(info.name);
    if (!stored) return undefined;
    const scanner = this.#o.pool.scanCsv();
    try {
      for await (const chunk of stored.data) await scanner.write(chunk);
    } catch (error) {
      scanner.stop();
      throw error;
    }
    const summary = await scanner.end().catch((error: unknown) => {
      throw new DatasetInvalidError(`data set '${id}': ${(error as Error).message}`);
    });
    const record = describe(id, summary, stored.info, known?.target_column);
    await this.#o.catalog.put(catalogKey(id), encoder.encode(JSON.stringify(record)));
    return record;
  }

  /**
   * Removes a data set and its record.
   * @param usedBy the jobs not yet ended that train on it: while there are any, 409 names them.
   */
  async delete(id: string, usedBy: (id: string) => Promise<string[]>): Promise<void> {
    checkId(id);
    if (!(await this.#o.store.info(datasetObject(id)))) throw new DatasetNotFoundError(id);
    const jobs = await usedBy(id);
    if (jobs.length > 0) {
      throw new DatasetConflictError(
        `data set '${id}' is used by ${jobs.length} job(s) not yet ended (${jobs.slice(0, 5).join(", ")}): cancel them or wait`,
      );
    }
    await this.#o.store.delete(datasetObject(id));
    await this.#o.catalog.purge(catalogKey(id));
  }
}

/** The catalog key of a data set's record. */
export function catalogKey(id: string): string {
  return `datasets.${id}`;
}

function checkId(id: string): void {
  if (!ID.test(id)) {
    throw new InvalidRequestError("dataset id", [
      { path: "/dataset_id", message: `must match ${DATASET_ID}` },
    ]);
  }
}

function datasetIdOf(request: UploadRequest): string {
  const fromFile = request.filename?.replace(/^.*[\\/]/, "").replace(/\.[^.]*$/, "");
  const id = request.dataset_id ?? fromFile;
  if (id === undefined || id === "") {
    throw new InvalidRequestError("upload", [
      { path: "/dataset_id", message: "name the data set (dataset_id, or the file's name)" },
    ]);
  }
  if (!ID.test(id)) {
    throw new InvalidRequestError("upload", [
      { path: "/dataset_id", message: `${JSON.stringify(id)} must match ${DATASET_ID}` },
    ]);
  }
  return id;
}

/** The record of a checked file with `target` (default: its last column) to predict. */
function describe(
  id: string,
  summary: CsvSummary,
  info: BlobInfo,
  target: string | undefined,
): DatasetRecord {
  const names = summary.columns.map((c) => c.name);
  const target_column = target ?? (names.at(-1) as string);
  const column = summary.columns.find((c) => c.name === target_column);
  if (!column) {
    throw new DatasetInvalidError(
      `target_column ${JSON.stringify(target_column)} is not a column of the file (its columns: ${names.join(", ")})`,
    );
  }
  return {
    dataset_id: id,
    object: info.name,
    rows: summary.rows,
    columns: summary.columns,
    target_column,
    features: names.filter((n) => n !== target_column),
    classes: column.values ?? null,
    size_bytes: info.size,
    sha256: info.sha256,
    created_at: info.modified,
  };
}
