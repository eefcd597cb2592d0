import type { BlobStore } from "../transport/ports.ts";

/** Bytes of data sets this process keeps for its pool threads. */
const CACHE_BYTES = 512 * 1024 * 1024;

/**
 * Data sets' CSV bytes in shared memory, by content hash: read from the bucket once per process
 * and handed to every pool post as a view of the same SharedArrayBuffer (no copy per task).
 */
export class DatasetBytes {
  readonly #store: BlobStore;
  readonly #cache = new Map<string, Promise<Uint8Array>>();
  readonly #sizes = new Map<string, number>();
  #bytes = 0;

  constructor(store: BlobStore) {
    this.#store = store;
  }

  /** The bytes of `object`, which must still hash to `sha256` (else the data set changed). */
  load(object: string, sha256: string): Promise<Uint8Array> {
    const known = this.#cache.get(sha256);
    if (known) {
      this.#cache.delete(sha256);
      this.#cache.set(sha256, known);
      return known;
    }
    const loading = this.#read(object, sha256);
    this.#cache.set(sha256, loading);
    loading.then(
      (bytes) => this.#account(sha256, bytes.byteLength),
      () => this.#cache.delete(sha256),
    );
    return loading;
  }

  async #read(object: string, sha256: string): Promise<Uint8Array> {
    const stored = await this.#store.get(object);
    if (!stored) throw new Error(`data set file ${object} is gone`);
    if (stored.info.sha256 !== sha256) {
      throw new Error(`data set file ${object} changed since the job was submitted`);
    }
    const bytes = new Uint8Array(new SharedArrayBuffer(stored.info.size));
    let at = 0;
    for await (const chunk of stored.data) {
      bytes.set(chunk, at);
      at += chunk.byteLength;
    }
    return bytes;
  }

  #account(sha256: string, size: number): void {
    this.#sizes.set(sha256, size);
    this.#bytes += size;
    for (const oldest of this.#cache.keys()) {
      if (this.#bytes <= CACHE_BYTES || oldest === sha256) break;
      this.#cache.delete(oldest);
      this.#bytes -= this.#sizes.get(oldest) ?? 0;
      this.#sizes.delete(oldest);
    }
  }
}
