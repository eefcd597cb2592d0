import type { Logger } from "../log.ts";
import type { Bucket } from "../transport/ports.ts";
import { taskKey } from "./chunk-message.ts";

/**
 * Saves the newest checkpoint of each task, one write at a time per task: epochs that end while a
 * write is under way replace each other, so fast epochs cost a write per round trip, not one each.
 * A write that fails is logged and dropped: a retry then resumes from an older epoch.
 */
export class CheckpointSaver {
  readonly #bucket: Bucket;
  readonly #jobId: string;
  readonly #log: Logger;
  readonly #newest = new Map<number, Uint8Array>();
  readonly #saving = new Map<number, Promise<void>>();

  constructor(bucket: Bucket, jobId: string, log: Logger) {
    this.#bucket = bucket;
    this.#jobId = jobId;
    this.#log = log;
  }

  save(taskIndex: number, bytes: Uint8Array): void {
    this.#newest.set(taskIndex, bytes);
    if (!this.#saving.has(taskIndex)) this.#saving.set(taskIndex, this.#drain(taskIndex));
  }

  /** Resolves once every checkpoint handed in is written (or failed to be). */
  async idle(): Promise<void> {
    await Promise.all(this.#saving.values());
  }

  async #drain(taskIndex: number): Promise<void> {
    const key = taskKey(this.#jobId, taskIndex);
    for (let bytes = this.#newest.get(taskIndex); bytes; bytes = this.#newest.get(taskIndex)) {
      this.#newest.delete(taskIndex);
      await this.#bucket
        .put(key, bytes)
        .catch((error) => this.#log.warn({ err: error, key }, "checkpoint not saved"));
    }
    this.#saving.delete(taskIndex);
  }
}
