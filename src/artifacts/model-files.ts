import type { BlobStore } from "../transport/ports.ts";

/** Jobs whose model.json and metrics.json a process keeps in memory. */
const KEPT = 16;

/** What a completed training job's metrics.json says of its model. */
export interface ModelSummary {
  model_type: string;
  features: string[];
  classes: string[];
  target_column: string | null;
}

/**
 * Completed jobs' model files, read from the artifacts bucket once and kept (an artifact is
 * written once and never changes): for the predict route and for evaluate and predict tasks.
 */
export class ModelFiles {
  readonly #store: BlobStore;
  readonly #kept = new Map<string, Promise<{ json: string; summary: ModelSummary } | undefined>>();

  constructor(store: BlobStore) {
    this.#store = store;
  }

  /** The job's model.json and its summary; undefined while the job has none. */
  get(jobId: string): Promise<{ json: string; summary: ModelSummary } | undefined> {
    const known = this.#kept.get(jobId);
    if (known) return known;
    const reading = this.#read(jobId);
    this.#kept.set(jobId, reading);
    // Only a model found is kept: one not written yet may be there next time.
    reading.then(
      (found) => found ?? this.#kept.delete(jobId),
      () => this.#kept.delete(jobId),
    );
    if (this.#kept.size > KEPT) this.#kept.delete(this.#kept.keys().next().value as string);
    return reading;
  }

  async #read(jobId: string) {
    const [json, metrics] = await Promise.all([
      readText(this.#store, `${jobId}/model.json`),
      readText(this.#store, `${jobId}/metrics.json`),
    ]);
    if (json === undefined || metrics === undefined) return undefined;
    return { json, summary: JSON.parse(metrics) as ModelSummary };
  }
}

/** An object's content as text; undefined when there is none. */
export async function readText(store: BlobStore, name: string): Promise<string | undefined> {
  const stored = await store.get(name);
  if (!stored) return undefined;
  const parts: Uint8Array[] = [];
  for await (const chunk of stored.data) parts.push(chunk);
  return Buffer.concat(parts).toString("utf8");
}
