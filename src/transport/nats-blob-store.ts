import { createHash } from "node:crypto";
import { type KV, Kvm } from "@nats-io/kv";
import {
  type ObjectInfo,
  type ObjectStore,
  Objm,
  StorageType,
  setSha256Backend,
} from "@nats-io/obj";
import { nuid } from "@nats-io/transport-node";
import type { NatsConnection } from "./connection.ts";
import { isWrongRevision } from "./kv.ts";
import { natsBucket } from "./nats-ports.ts";
import { chunksOf } from "./object-chunks.ts";
import type { BlobInfo, BlobStore, Bucket } from "./ports.ts";
import type { Topology } from "./streams.ts";
import type { Names } from "./subjects.ts";

const DIGEST_PREFIX = "SHA-256=";
/** The object store's default chunk size: an object up to this is one chunk message. */
const ONE_CHUNK = 128 * 1024;
/** Bytes of a put's source read ahead of what is stored (bounds an upload's memory). */
const READ_AHEAD_BYTES = 1024 * 1024;

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
  // Every put and get hashes its bytes on the main thread: node:crypto's SHA-256, not the
  // portable JavaScript one nats.js defaults to (a quarter of an upload's time on the main thread).
  setSha256Backend("native");
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
    datasets: natsBlobStore(datasets, names.buckets.datasets, topology),
    artifacts: natsBlobStore(artifacts, names.buckets.artifacts, topology),
    catalog: natsBucket(topology, names.buckets.catalog, kv),
  };
}

/** An object store bucket as a BlobStore. */
export function natsBlobStore(
  store: ObjectStore,
  bucket: string,
  topology: Pick<Topology, "publisher" | "jsm">,
): BlobStore {
  const blobs: BlobStore = {
    async put(name, source) {
      const iterator = source[Symbol.asyncIterator]();
      // Read ahead up to READ_AHEAD_BYTES while nats.js awaits each chunk's ack, so the source
      // (an upload's socket) is read while the chunks before it are stored, not between them.
      const stream = new ReadableStream<Uint8Array>(
        {
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
        },
        new ByteLengthQueuingStrategy({ highWaterMark: READ_AHEAD_BYTES }),
      );
      return infoOf(await store.put({ name }, stream));
    },
    async get(name) {
      const result = await store.get(name);
      return result ? { info: infoOf(result.info), data: chunksOf(result) } : undefined;
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
    async create(name, bytes) {
      if (bytes.byteLength > ONE_CHUNK) {
        if (await blobs.info(name)) return false;
        await blobs.put(name, once(bytes));
        return true;
      }
      return createSmall(name, bytes);
    },
  };

  /**
   * An object of one chunk in the object store's own layout (nats.js, `nats obj` read it as
   * theirs): its chunk, then its description on the name's subject, stored only if that subject
   * has none yet. Two publishes through the lean publisher, where nats.js' put reads the object's
   * description first and publishes through its slower path: a job's artifacts were most of a
   * small job's cost. The chunk of a create that lost is removed.
   */
  async function createSmall(name: string, bytes: Uint8Array): Promise<boolean> {
    const id = nuid.next();
    const chunkSubject = `$O.${bucket}.C.${id}`;
    await topology.publisher.publish(chunkSubject, bytes);
    const description = {
      name,
      description: "",
      options: { max_chunk_size: ONE_CHUNK },
      bucket,
      nuid: id,
      size: bytes.byteLength,
      chunks: 1,
      mtime: new Date().toISOString(),
      digest: `${DIGEST_PREFIX}${base64UrlPadded(createHash("sha256").update(bytes).digest())}`,
      deleted: false,
    };
    try {
      await topology.publisher.publish(
        `$O.${bucket}.M.${base64UrlPadded(Buffer.from(name))}`,
        Buffer.from(JSON.stringify(description)),
        { expectLastSubjectSequence: 0 },
      );
      return true;
    } catch (error) {
      if (!isWrongRevision(error)) throw error;
      await topology.jsm.streams.purge(`OBJ_${bucket}`, { filter: chunkSubject });
      return false;
    }
  }

  return blobs;
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/** Base64 with the URL alphabet and its padding kept, as the object store names its subjects. */
function base64UrlPadded(bytes: Buffer): string {
  return bytes.toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
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
