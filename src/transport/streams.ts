import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "./connection.ts";
import { type Names, PRIORITIES } from "./subjects.ts";

export interface TopologyOptions {
  /** Stream and bucket replicas (TROUPE_REPLICAS); 1 on a single server. */
  replicas: number;
  /** How long a task or job lease lives without an in-progress ack (the consumers' AckWait). */
  leaseMs: number;
}

/** The buckets Troupe keeps its state in (see `Names.buckets`). */
export interface Buckets {
  readonly jobs: KV;
  readonly idempotency: KV;
  readonly tasks: KV;
  readonly results: KV;
  readonly checkpoints: KV;
  readonly workers: KV;
  readonly quota: KV;
}

export interface Topology {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly kv: Buckets;
}

const DUPLICATE_WINDOW_NS = 120 * 1e9;
const ms = (value: number) => value * 1e6;

/**
 * Creates (or brings up to date) every stream, consumer and bucket, idempotently: any number of
 * processes may run this at once at start-up. All data is on file storage.
 */
export async function ensureTopology(
  nc: NatsConnection,
  n: Names,
  options: TopologyOptions,
): Promise<Topology> {
  const jsm = await jetstreamManager(nc);
  const common = { storage: StorageType.File, num_replicas: options.replicas };
  // One message per live job; the owning process holds it un-acked as its lease.
  await ensureStream(jsm, {
    ...common,
    name: n.jobsStream,
    subjects: [n.internal.allJobs],
    retention: RetentionPolicy.Workqueue,
    duplicate_window: DUPLICATE_WINDOW_NS,
  });
  // Queued tasks, one subject per priority lane and job: `<prefix>.internal.tasks.<lane>.<job>`.
  await ensureStream(jsm, {
    ...common,
    name: n.tasksStream,
    subjects: [n.internal.allTasks],
    retention: RetentionPolicy.Workqueue,
    duplicate_window: DUPLICATE_WINDOW_NS,
  });
  const lease: Partial<ConsumerConfig> = {
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: ms(options.leaseMs),
    max_deliver: -1,
    max_ack_pending: 100_000,
    num_replicas: 0,
  };
  await ensureConsumer(jsm, n.jobsStream, { ...lease, durable_name: n.jobOwnersConsumer });
  for (const priority of PRIORITIES) {
    await ensureConsumer(jsm, n.tasksStream, {
      ...lease,
      durable_name: n.laneConsumer(priority),
      filter_subject: n.internal.lane(priority),
    });
  }

  const kvm = new Kvm(nc);
  const bucket = (name: string, ttlMs = 0) =>
    kvm.create(name, { history: 1, replicas: options.replicas, storage: "file", ttl: ttlMs });
  const b = n.buckets;
  const [jobs, idempotency, tasks, results, checkpoints, workers, quota] = await Promise.all([
    bucket(b.jobs),
    bucket(b.idempotency),
    bucket(b.tasks),
    bucket(b.results),
    bucket(b.checkpoints),
    bucket(b.workers),
    // A quota slot of a process that died frees itself: holders refresh it every lease/3.
    bucket(b.quota, options.leaseMs),
  ]);
  return {
    js: jsm.jetstream(),
    jsm,
    kv: { jobs, idempotency, tasks, results, checkpoints, workers, quota } as Buckets,
  };
}

async function ensureStream(
  jsm: JetStreamManager,
  config: Partial<StreamConfig> & { name: string },
) {
  try {
    await jsm.streams.info(config.name);
  } catch (error) {
    if (!isApiError(error, JetStreamApiCodes.StreamNotFound)) throw error;
    await jsm.streams.add(config);
    return;
  }
  await jsm.streams.update(config.name, config);
}

async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  config: Partial<ConsumerConfig> & { durable_name: string },
) {
  try {
    await jsm.consumers.info(stream, config.durable_name);
  } catch (error) {
    if (!isApiError(error, JetStreamApiCodes.ConsumerNotFound)) throw error;
    await jsm.consumers.add(stream, config);
    return;
  }
  await jsm.consumers.update(stream, config.durable_name, config);
}

function isApiError(error: unknown, code: number): boolean {
  return error instanceof JetStreamApiError && error.code === code;
}
