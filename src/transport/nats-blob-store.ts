import { type KV, Kvm } from "@nats-io/kv";
import { type ObjectInfo, type ObjectStore, Objm, StorageType } from "@nats-io/obj";
import type { NatsConnection } from "./connection.ts";
import { natsBucket } from "./nats-ports.ts";
import type { BlobInfo, BlobStore, Bucket } from "./ports.ts";
import type { Topology } from "./streams.ts";
import type { Names } from "./subjects.ts";

const DIGEST_PREFIX = "SHA-256=";

/** Where data sets and artifacts live (DESIGN §5.1), and the catalog that describes them. */
export interface DataStores {
  datasets: BlobStore;
  artifacts: BlobStore;
  /** Dataset metadata, retention's tombstones and its lease. */
  catalog: Bucket;
}

/**
 * Creates (or opens) the two object stores and the catalog bucket, idempotently like the rest of
 * the topology: any number of processes may do this at once.
 */
export async function openDataStores(
  nc: NatsConnection,
  names: Names,
  topology: Topology,
  replicas: number,
): Promise<DataStores> {
  const objm = new Objm(nc);
  const options = { storage: StorageType.File, replicas };
  const [datasets, artifacts] = await Promise.all([
    objm.create(names.buckets.datasets, { ...options, description: "Troupe data sets" }),
    objm.create(names.buckets.artifacts, { ...options, description: "Troupe job artifacts" }),
  ]);
  const kv: KV = await new Kvm(nc).create(names.buckets.catalog, {
    history: 1,
    replicas,
    storage: "file",
  });
  return {
    datasets: natsBlobStore(datasets),
    artifacts: natsBlobStore(artifacts),
    catalog: natsBucket(topology, names.buckets.catalog, kv),
  };
}

/** An object store bucket as a BlobStore. */
export function natsBlobStore(store: ObjectStore): BlobStore {
  return {
    async put(name, source) {
      const iterator = source[Symbol.asyncIterator]();
      // Pulled one chunk at a time: the upload waits while the chunks before it are stored.
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          try {
            const { done, value } = await iterator.next();
            if (done) controller.close();
            else controller.enqueue(value);
          } catch (error) {
            controller.error(error);
          }
        },
        async cancel() {
          await iterator.return?.();
        },
      });
      return infoOf(await store.put({ name }, stream));
    },
    async get(name) {
      const result = await store.get(name);
      if (!result) return undefined;
      const reader = result.data.getReader();
      async function* chunks(): AsyncGenerator<Uint8Array> {
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            yield value;
          }
          const error = await result?.error;
          if (error) throw error;
        } finally {
          reader.releaseLock();
        }
      }
      return { info: infoOf(result.info), data: chunks() };
    },
    async info(name) {
      const info = await store.info(name);
      return info && !info.deleted ? infoOf(info) : undefined;
    },
    async list(prefix = "") {
      const all = await store.list();
      return all.filter((i) => !i.deleted && i.name.startsWith(prefix)).map(infoOf);
    },
    async delete(name) {
      const info = await store.info(name);
      if (!info || info.deleted) return false;
      await store.delete(name);
      return true;
    },
  };
}

function infoOf(info: ObjectInfo): BlobInfo {
  return {
    name: info.name,
    size: info.size,
    sha256: hexDigest(info.digest),
    modified: info.mtime,
  };
}

/** The object store's digest (`SHA-256=` + base64url) as hex. */
function hexDigest(digest: string): string {
  if (!digest.startsWith(DIGEST_PREFIX)) return "";
  return Buffer.from(digest.slice(DIGEST_PREFIX.length), "base64url").toString("hex");
}
