import type { ResourceClass } from "../contract/resources.ts";
import type { NatsConnection } from "./connection.ts";
import { followBucket } from "./follow-bucket.ts";
import { isWrongRevision } from "./kv.ts";
import type { ClassLanes, WorkerIndex } from "./ports.ts";
import { ensureClassLanes, type Topology } from "./streams.ts";
import type { Names } from "./subjects.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Resource classes in their bucket. A class's lanes are made before it is recorded, so a worker
 * told of a class can pull its lanes at once; chunks published before a worker pulls wait in
 * the stream (work queue) as on the default lanes.
 */
export function natsClassLanes(nc: NatsConnection, names: Names, topology: Topology): ClassLanes {
  const kv = topology.kv.classes;
  // Registered by this process already (or found recorded): nothing to ask NATS again.
  const known = new Map<string, Promise<void>>();
  let leaseMs: Promise<number> | undefined;
  const register = async (key: string, resourceClass: ResourceClass) => {
    if ((await kv.get(key))?.operation === "PUT") return;
    // The class lanes' leases are the default lanes' (TopologyOptions.leaseMs).
    if (!leaseMs) {
      leaseMs = topology.jsm.consumers
        .info(names.tasksStream, names.laneConsumer("normal"))
        .then((info) => (info.config.ack_wait ?? 0) / 1e6);
      leaseMs.catch(() => {
        leaseMs = undefined; // asked again next time, not failed for good
      });
    }
    await ensureClassLanes(topology.jsm, names, key, await leaseMs);
    try {
      await kv.create(key, encoder.encode(JSON.stringify(resourceClass)));
    } catch (error) {
      if (!isWrongRevision(error)) throw error; // another process recorded it first
    }
  };
  return {
    register(key, resourceClass) {
      let done = known.get(key);
      if (!done) {
        done = register(key, resourceClass);
        known.set(key, done);
        done.catch(() => known.delete(key)); // a failed registration is tried again next time
      }
      return done;
    },
    follow(onClass) {
      return followBucket(nc, kv, (key, value) => {
        if (value) onClass(key, JSON.parse(decoder.decode(value)) as ResourceClass);
      });
    },
  };
}

/** The worker records as they change (each heartbeat and task change rewrites its worker's). */
export function natsWorkerIndex(nc: NatsConnection, topology: Topology): WorkerIndex {
  return {
    follow: (onChange, onReset) => followBucket(nc, topology.kv.workers, onChange, onReset),
  };
}
