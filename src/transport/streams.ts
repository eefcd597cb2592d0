import { setTimeout as sleep } from "node:timers/promises";
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
import { PRIORITIES } from "../contract/priorities.ts";
import { ConfigError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { NatsConnection } from "./connection.ts";
import { JetStreamPublisher } from "./js-publisher.ts";
import { KvWriter, kvStream } from "./kv.ts";
import { untilNatsAnswers } from "./nats-errors.ts";
import type { Names } from "./subjects.ts";

export interface TopologyOptions {
  /** Stream and bucket replicas (TROUPE_REPLICAS); 1 on a single server. */
  replicas: number;
  /** How long a task lease lives without an in-progress ack (the lane consumers' AckWait). */
  leaseMs: number;
  /** The same for a job lease (the job owners consumer's AckWait). */
  jobLeaseMs: number;
  /** How long ended jobs' summaries are kept (ANALYTICS_RETENTION). @default 168 h */
  historyRetentionMs?: number | undefined;
  /** Where set-up logs each retry while NATS does not answer. */
  log?: Logger | undefined;
  /** Ends those retries (a shutdown during start-up). */
  signal?: AbortSignal | undefined;
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
  readonly workflows: KV;
  readonly templates: KV;
  readonly queue: KV;
  readonly classes: KV;
}

/** Every bucket of `Buckets`: opened, awaited and created alike, from this one list. */
const KV_BUCKETS = [
  "jobs",
  "idempotency",
  "tasks",
  "results",
  "checkpoints",
  "workers",
  "quota",
  "workflows",
  "templates",
  "queue",
  "classes",
] as const satisfies readonly (keyof Buckets)[];

export interface Topology {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly kv: Buckets;
  /** JetStream publishes on the hot paths (see js-publisher.ts). */
  readonly publisher: JetStreamPublisher;
  /** The same, for the buckets written once per task or job. */
  readonly writers: {
    readonly jobs: KvWriter;
    readonly results: KvWriter;
    readonly checkpoints: KvWriter;
  };
}

const DUPLICATE_WINDOW_NS = 120 * 1e9;
const ms = (value: number) => value * 1e6;

/**
 * What JetStream answers when a stream asks for more replicas than there are servers to hold them:
 * 10074 "replicas > 1 not supported in non-clustered mode", 10005 "no suitable peers for
 * placement", 10023 "insufficient resources".
 */
const TOO_FEW_SERVERS = new Set([10074, 10005, 10023]);
/**
 * Creating a replicated stream forms a Raft group, which on a busy or freshly started cluster can
 * take longer than a request's default 5 s; the set-up requests get this long, and set-up as a
 * whole is retried (it is idempotent) for as long as NATS does not answer.
 */
const SETUP_REQUEST_TIMEOUT_MS = 20_000;
/** How long start-up waits for the new Raft groups to elect their leaders. */
const LEADERS_DEADLINE_MS = 120_000;

/**
 * Creates (or brings up to date) every stream, consumer and bucket, idempotently: any number of
 * processes may run this at once at start-up. All data is on file storage. It waits for NATS
 * to answer (see `untilNatsAnswers`): a NATS restart meanwhile delays it, it does not fail it.
 *
 * Refuses (ConfigError naming TROUPE_REPLICAS) a replica count the NATS cluster cannot place.
 * The server is the one judge of its cluster's size, so the check is its answer to the first
 * stream, translated, rather than a count of routes that may not all be up yet.
 */
export async function ensureTopology(
  nc: NatsConnection,
  n: Names,
  options: TopologyOptions,
): Promise<Topology> {
  const deadline = Date.now() + LEADERS_DEADLINE_MS;
  try {
    return await untilNatsAnswers(
      async () => {
        const setup = await jetstreamManager(nc, { timeout: SETUP_REQUEST_TIMEOUT_MS });
        await createRacing(() => createTopology(setup, n, options));
        await awaitLeaders(setup, n, deadline);
        return await openTopology(nc, n);
      },
      { step: "create the streams and buckets", log: options.log, signal: options.signal },
    );
  } catch (error) {
    throw replicasError(error, nc, options);
  }
}

/** JetStream's answers to a create racing another process's create of the same stream. */
const CREATED_MEANWHILE = new Set([
  10058, // stream name already in use
  10065, // subjects overlap with an existing stream
]);
const CREATE_ATTEMPTS = 3;

/**
 * Runs the creation again when another process created the same stream at the same moment:
 * the next pass finds it (an identical create is then a no-op).
 */
async function createRacing(create: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await create();
    } catch (error) {
      const raced = error instanceof JetStreamApiError && CREATED_MEANWHILE.has(error.code);
      if (!raced || attempt === CREATE_ATTEMPTS) throw error;
    }
  }
}

/** The handles the pipeline works with; they keep the client's default request timeout. */
async function openTopology(nc: NatsConnection, n: Names): Promise<Topology> {
  const jsm = await jetstreamManager(nc);
  const kvm = new Kvm(nc);
  const b = n.buckets;
  const opened = await Promise.all(KV_BUCKETS.map((key) => kvm.open(b[key])));
  const publisher = new JetStreamPublisher(nc);
  return {
    js: jsm.jetstream(),
    jsm,
    kv: Object.fromEntries(KV_BUCKETS.map((key, i) => [key, opened[i]])) as Record<
      keyof Buckets,
      KV
    >,
    publisher,
    writers: {
      jobs: new KvWriter(publisher, b.jobs),
      results: new KvWriter(publisher, b.results),
      checkpoints: new KvWriter(publisher, b.checkpoints),
    },
  };
}

/**
 * A replicated stream or consumer just created answers nothing (no responders) until its Raft
 * group has elected a leader: start-up waits for every one, so the pipeline starts on a ready
 * cluster. On a single server there is no Raft group and nothing to wait for.
 */
async function awaitLeaders(jsm: JetStreamManager, n: Names, deadline: number): Promise<void> {
  const b = n.buckets;
  const buckets = KV_BUCKETS.map((key) => b[key]);
  const streams = [
    n.jobsStream,
    n.tasksStream,
    n.historyStream,
    n.workflowsStream,
    ...buckets.map(kvStream),
  ];
  const consumers: [string, string][] = [
    [n.jobsStream, n.jobOwnersConsumer],
    [n.workflowsStream, n.workflowOwnersConsumer],
    ...PRIORITIES.map((p): [string, string] => [n.tasksStream, n.laneConsumer(p)]),
  ];
  const lookups = [
    ...streams.map((stream) => () => jsm.streams.info(stream)),
    ...consumers.map(
      ([stream, consumer]) =>
        () =>
          jsm.consumers.info(stream, consumer),
    ),
  ];
  for (const lookup of lookups) {
    for (;;) {
      const { cluster } = await lookup();
      if (!cluster || cluster.leader) break;
      if (Date.now() > deadline) throw new Error(`no JetStream leader elected in time`);
      // An election is not announced to clients: look again shortly.
      await sleep(100);
    }
  }
}

/** A placement refusal becomes a ConfigError naming TROUPE_REPLICAS; anything else is kept. */
function replicasError(error: unknown, nc: NatsConnection, options: TopologyOptions): unknown {
  if (
    options.replicas === 1 ||
    !(error instanceof JetStreamApiError) ||
    !TOO_FEW_SERVERS.has(error.code)
  ) {
    return error;
  }
  const server = nc.info?.cluster
    ? `NATS cluster "${nc.info.cluster}"`
    : "a NATS server without a cluster";
  return new ConfigError(
    "TROUPE_REPLICAS",
    `TROUPE_REPLICAS=${options.replicas} is more than ${server} can hold: every stream and bucket needs ${options.replicas} JetStream servers (the server said: ${error.message}). Use TROUPE_REPLICAS=1 on one server, 3 on a 3-node cluster.`,
  );
}

/** Every stream, consumer and bucket, through `jsm` (with the set-up timeout). */
async function createTopology(
  jsm: JetStreamManager,
  n: Names,
  options: TopologyOptions,
): Promise<void> {
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
  // Ended jobs' summaries for analytics: a plain (limits) stream, trimmed by age.
  await ensureStream(jsm, {
    ...common,
    name: n.historyStream,
    subjects: [n.internal.allHistory],
    retention: RetentionPolicy.Limits,
    max_age: ms(options.historyRetentionMs ?? 168 * 3_600_000),
    duplicate_window: DUPLICATE_WINDOW_NS,
  });
  const lease = leaseConsumer(options.leaseMs);
  await ensureConsumer(jsm, n.jobsStream, {
    ...lease,
    ack_wait: ms(options.jobLeaseMs),
    durable_name: n.jobOwnersConsumer,
  });
  // One message per live workflow, held un-acked by the process driving it, as for jobs.
  await ensureStream(jsm, {
    ...common,
    name: n.workflowsStream,
    subjects: [n.internal.allWorkflows],
    retention: RetentionPolicy.Workqueue,
    duplicate_window: DUPLICATE_WINDOW_NS,
  });
  await ensureConsumer(jsm, n.workflowsStream, {
    ...lease,
    ack_wait: ms(options.jobLeaseMs),
    durable_name: n.workflowOwnersConsumer,
  });
  for (const priority of PRIORITIES) {
    await ensureConsumer(jsm, n.tasksStream, {
      ...lease,
      durable_name: n.laneConsumer(priority),
      filter_subject: n.internal.lane(priority),
    });
  }

  const kvm = new Kvm(jsm.jetstream());
  const bucket = (name: string, ttlMs = 0) =>
    kvm.create(name, { history: 1, replicas: options.replicas, storage: "file", ttl: ttlMs });
  const b = n.buckets;
  await Promise.all(
    // A quota slot of a process that died frees itself: holders refresh it every lease/3.
    KV_BUCKETS.map((key) => bucket(b[key], key === "quota" ? options.leaseMs : 0)),
  );
}

/** A consumer whose un-acked messages are leases of `leaseMs` (task lanes, job owners). */
function leaseConsumer(leaseMs: number): Partial<ConsumerConfig> {
  return {
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: ms(leaseMs),
    max_deliver: -1,
    max_ack_pending: 100_000,
    num_replicas: 0,
  };
}

/**
 * The lanes of a resource class, one durable consumer per priority, made like the default lanes
 * (idempotent: any number of processes may make the same class at once).
 */
export async function ensureClassLanes(
  jsm: JetStreamManager,
  n: Names,
  laneClass: string,
  leaseMs: number,
): Promise<void> {
  for (const priority of PRIORITIES) {
    await ensureConsumer(jsm, n.tasksStream, {
      ...leaseConsumer(leaseMs),
      durable_name: n.classLaneConsumer(priority, laneClass),
      filter_subject: n.internal.classLane(priority, laneClass),
    });
  }
}

async function ensureStream(
  jsm: JetStreamManager,
  config: Partial<StreamConfig> & { name: string },
) {
  let current: StreamConfig;
  try {
    current = (await jsm.streams.info(config.name)).config;
  } catch (error) {
    if (!isApiError(error, JetStreamApiCodes.StreamNotFound)) throw error;
    await jsm.streams.add(config);
    return;
  }
  if (!isSubset(config, current)) await jsm.streams.update(config.name, config);
}

/**
 * True when `current` already has every value `wanted` sets. An update of a replicated stream or
 * consumer is a Raft proposal: processes starting together skip the ones that change nothing.
 */
function isSubset(wanted: object, current: object): boolean {
  const have = current as Record<string, unknown>;
  return Object.entries(wanted).every(
    ([key, value]) => JSON.stringify(have[key] ?? 0) === JSON.stringify(value ?? 0),
  );
}

async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  config: Partial<ConsumerConfig> & { durable_name: string },
) {
  let current: ConsumerConfig;
  try {
    current = (await jsm.consumers.info(stream, config.durable_name)).config;
  } catch (error) {
    if (!isApiError(error, JetStreamApiCodes.ConsumerNotFound)) throw error;
    await jsm.consumers.add(stream, config);
    return;
  }
  if (!isSubset(config, current)) await jsm.consumers.update(stream, config.durable_name, config);
}

function isApiError(error: unknown, code: number): boolean {
  return error instanceof JetStreamApiError && error.code === code;
}
