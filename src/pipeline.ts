import { setMaxListeners } from "node:events";
import { availableParallelism } from "node:os";
import { type ActorSystem, createActorSystem } from "./actors/actor-system.ts";
import type { Behavior, LocalActorRef } from "./actors/behavior.ts";
import { DataGateway } from "./artifacts/data-gateway.ts";
import { Datasets } from "./artifacts/datasets.ts";
import { ModelFiles } from "./artifacts/model-files.ts";
import { Retention } from "./artifacts/retention.ts";
import type { Clock } from "./clock.ts";
import type { TroupeConfig } from "./config.ts";
import { ChunkSizer } from "./jobs/chunk-sizing.ts";
import { Gateway } from "./jobs/gateway.ts";
import { JobOwner } from "./jobs/job-owner.ts";
import { JobStore } from "./jobs/job-store.ts";
import type { Logger } from "./log.ts";
import { PipelineEvents } from "./pipeline-events.ts";
import { capacityOf } from "./placement/availability.ts";
import { ClusterView } from "./placement/cluster-view.ts";
import { Admission } from "./queue/admission.ts";
import { Dispatcher } from "./queue/dispatcher.ts";
import { QueueSampler } from "./queue/queue-sampler.ts";
import { UserQuota } from "./queue/quota.ts";
import { createSupervisor, type Supervisor } from "./supervisor/supervisor.ts";
import { createTrainingPool, type TrainingPool } from "./training/pool.ts";
import type { NatsConnection } from "./transport/connection.ts";
import { EventPublisher } from "./transport/events.ts";
import { kvKeys } from "./transport/kv.ts";
import { type DataStores, openDataStores } from "./transport/nats-blob-store.ts";
import { untilNatsAnswers } from "./transport/nats-errors.ts";
import { natsWorkerIndex } from "./transport/nats-placement.ts";
import { natsBucket, natsTaskPorts } from "./transport/nats-ports.ts";
import { type NatsReadiness, natsReadiness } from "./transport/readiness.ts";
import { createNatsRemotePort } from "./transport/remote-actors.ts";
import { ensureTopology, type Topology } from "./transport/streams.ts";
import { type Names, names as namesFor } from "./transport/subjects.ts";
import { ChunkRunner } from "./workers/chunk-runner.ts";
import { JobAborts } from "./workers/job-aborts.ts";
import { type RunTask, workerActor } from "./workers/worker-actor.ts";
import { WorkerRegistry } from "./workers/worker-registry.ts";
import { type WorkflowDriving, workflowDriving } from "./workflows/workflow-driving.ts";

/**
 * A task's lease (AckWait) is 1.25 heartbeats, renewed RENEWALS_PER_LEASE times within it: a
 * killed process's tasks are redelivered one to 1.25 heartbeats after it died, to run elsewhere
 * within two. A live process only loses a lease if its event loop stalls for a whole heartbeat.
 */
export const LEASE_HEARTBEATS = 1.25;
const RENEWALS_PER_LEASE = 5;
/**
 * A job's lease is 3 heartbeats, renewed every heartbeat. Its tasks do not wait for it (they have
 * their own leases and record their own results), so a dead owner's jobs can be taken over more
 * slowly. Every live job renews its lease, so the renewal rate times the backlog is a steady load
 * on NATS: 500 queued jobs at a 500 ms heartbeat cost ~0.09 core (troupe and nats-server) this
 * way, ~0.26 core when job leases were renewed like task leases (measured).
 */
export const JOB_LEASE_HEARTBEATS = 3;
/**
 * With every lane empty, a process looks again this often: a task whose lease ran out (its process
 * died) rings no doorbell, so this bounds how long it waits for an idle slot after that.
 */
const IDLE_POLL_MS = 100;
/** After the drain timeout, how long aborted tasks get to be handed back (pool abort grace: 1 s). */
const HAND_BACK_MS = 5_000;

export interface PipelineOptions {
  nc: NatsConnection;
  config: TroupeConfig;
  clock: Clock;
  log: Logger;
  /** Ends start-up's wait for NATS (a shutdown signal during start-up). */
  signal?: AbortSignal | undefined;
  /** The training pool (default: one of min(cores, slots) threads); the pipeline closes it. */
  pool?: TrainingPool | undefined;
}

/**
 * Everything a `troupe` process runs on top of its NATS connection: the actor system, the worker
 * slots and their dispatcher, the job owner and its job actors, the pool, the worker registry and
 * the gateway the doors call. Built in dependency order; `close` takes it down in reverse.
 */
export class Pipeline {
  readonly names: Names;
  readonly topology: Topology;
  readonly gateway: Gateway;
  readonly pipelineEvents: PipelineEvents;
  readonly events: EventPublisher;
  readonly system: ActorSystem;
  readonly registry: WorkerRegistry;
  /** The live workers and resource classes, for placement. */
  readonly view: ClusterView;
  readonly #o: PipelineOptions;
  readonly #pool: TrainingPool;
  readonly #aborts: JobAborts;
  readonly #readiness: NatsReadiness;
  readonly #workers: Supervisor;
  readonly #jobs: Supervisor;
  readonly #dispatcher: Dispatcher;
  readonly #owner: JobOwner;
  readonly #unsubscribeNudges: () => void;
  readonly #retention: Retention;
  readonly #workflows: WorkflowDriving;
  readonly #sampler: QueueSampler;
  /** Aborted when the drain times out: running tasks are handed back at once. */
  readonly #handBack = new AbortController();

  private constructor(o: PipelineOptions, topology: Topology, names: Names, stores: DataStores) {
    const { nc, config, clock, log } = o;
    this.#o = o;
    this.names = names;
    this.topology = topology;
    const renewEveryMs = (config.heartbeatIntervalMs * LEASE_HEARTBEATS) / RENEWALS_PER_LEASE;
    // Every running task listens for the hand-back: as many listeners as slots, not a leak.
    setMaxListeners(config.maxConcurrentTasks + 1, this.#handBack.signal);
    this.events = new EventPublisher(nc, names);
    const ports = natsTaskPorts(nc, names, topology);
    this.pipelineEvents = new PipelineEvents();
    this.#pool =
      o.pool ??
      createTrainingPool({ threads: Math.min(availableParallelism(), config.maxConcurrentTasks) });
    this.system = createActorSystem({
      clock,
      remote: createNatsRemotePort(nc, { prefix: config.prefix }),
    });
    logActorEvents(this.system, log);
    this.registry = new WorkerRegistry({
      kv: topology.kv.workers,
      listKeys: () => kvKeys(topology.jsm, this.names.buckets.workers),
      events: this.events,
      capabilities: {
        cpu_cores: config.maxConcurrentTasks,
        memory_gb: config.workerMemoryGb,
        gpu_count: config.workerGpus,
        max_concurrent_tasks: config.maxConcurrentTasks,
        services: config.workerServices === null ? null : [...config.workerServices],
        labels: { ...config.workerLabels },
      },
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      workerTimeoutMs: config.workerTimeoutMs,
      workerId: config.workerId,
      clock,
      log,
    });
    this.view = new ClusterView({
      workers: natsWorkerIndex(nc, topology),
      classes: ports.classes,
      workerTimeoutMs: config.workerTimeoutMs,
      selfRestricted: config.workerServices !== null,
      clock,
    });
    this.#aborts = new JobAborts(ports.signals);
    const datasets = new Datasets({
      store: stores.datasets,
      catalog: stores.catalog,
      pool: this.#pool,
      maxBytes: config.maxDatasetBytes,
      clock,
    });
    const models = new ModelFiles(stores.artifacts);
    const runner = new ChunkRunner({
      modelOf: async (spec) =>
        spec.model ? (await models.get(spec.model.job_id))?.json : undefined,
      dataOf: async (spec) =>
        spec.dataset.content_hash === undefined
          ? undefined
          : datasets.bytes.load(`${spec.dataset.dataset_id}.csv`, spec.dataset.content_hash),
      results: ports.results,
      checkpoints: ports.checkpoints,
      counts: ports.counts,
      pool: this.#pool,
      events: this.events,
      pipeline: this.pipelineEvents,
      registry: this.registry,
      aborts: this.#aborts,
      quota: config.quotaRunningPerUser
        ? new UserQuota({
            kv: topology.kv.quota,
            limit: config.quotaRunningPerUser,
            refreshMs: renewEveryMs,
            clock,
            log,
          })
        : undefined,
      renewEveryMs,
      taskTimeoutMs: config.taskTimeoutMs,
      handBack: this.#handBack.signal,
      faults: config.faults,
      clock,
      log,
    });
    const slots = config.maxConcurrentTasks;
    const worker = workerActor({ runner, events: this.events, pipeline: this.pipelineEvents });
    // Slots crash on faults of their own tasks; only a storm of crashes should stop the process.
    this.#workers = createSupervisor(this.system, {
      name: "workers",
      strategy: "one_for_one",
      maxRestarts: 10 * slots,
      periodMs: 10_000,
      minBackoffMs: 10,
      maxBackoffMs: 1_000,
      children: Array.from({ length: slots }, (_, i) => ({
        id: `slot-${i}`,
        // Children of one supervisor may take different messages; the spec list is untyped.
        behavior: worker as Behavior,
        restart: "permanent" as const,
        shutdownMs: config.drainTimeoutMs + 5_000,
      })),
    });
    const slotRefs = this.#workers
      .children()
      .map((child) => this.#workers.child<RunTask, void>(child.id) as LocalActorRef<RunTask, void>);
    this.#dispatcher = new Dispatcher({
      nc,
      names,
      slots: slotRefs.length,
      // A slot's ask never waits longer than the task timeout plus margin.
      runTask: (slot, delivery) =>
        (slotRefs[slot] as LocalActorRef<RunTask, void>).ask(
          { delivery },
          { timeoutMs: config.taskTimeoutMs + 60_000 },
        ),
      agingMs: config.priorityAgingMs,
      idlePollMs: IDLE_POLL_MS,
      // At most a quarter heartbeat: a dead process's class tasks still run elsewhere within two.
      classIdlePollMs: Math.max(IDLE_POLL_MS, Math.min(1_000, config.heartbeatIntervalMs / 4)),
      handBack: (delivery) => runner.handBack(delivery),
      clock,
      log,
      placement: {
        // Its capacity, services and labels as its record says them (nothing held yet).
        self: capacityOf(this.registry.snapshot()),
        policy: config.placement,
        view: this.view,
        // Past two heartbeats a preferred worker that takes nothing reads stale anyway.
        maxDeferMs: 2 * config.heartbeatIntervalMs,
        allocated: (resources) => this.registry.allocated(resources),
      },
    });
    this.#jobs = createSupervisor(this.system, {
      name: "jobs",
      strategy: "one_for_one",
      maxRestarts: 100,
      periodMs: 10_000,
      minBackoffMs: 50,
      maxBackoffMs: 2_000,
    });
    const sizer = new ChunkSizer(config.chunkTargetMs);
    this.#readiness = natsReadiness({ nc, jsm: topology.jsm, names });
    const jobStore = new JobStore(ports.jobs);
    const { kv } = topology;
    this.#retention = new Retention({
      jobs: jobStore,
      scratch: {
        results: natsBucket(topology, names.buckets.results, kv.results),
        checkpoints: ports.checkpoints,
        counts: ports.counts,
      },
      jobRecords: ports.jobs,
      idempotency: natsBucket(topology, names.buckets.idempotency, kv.idempotency),
      artifacts: stores.artifacts,
      catalog: stores.catalog,
      queueBook: ports.book,
      retentionMs: config.retentionMs,
      holder: this.registry.workerId,
      clock,
      log,
    });
    this.gateway = new Gateway({
      retention: this.#retention,
      data: new DataGateway({
        datasets,
        artifacts: stores.artifacts,
        models,
        catalog: stores.catalog,
        jobs: jobStore,
        pool: this.#pool,
      }),
      nc,
      names,
      topology,
      events: this.events,
      ports,
      readiness: this.#readiness,
      defaultMaxAttempts: config.maxRetries + 1,
      defaultTimeoutS: config.jobTimeoutS,
      historyRetentionMs: config.analyticsRetentionMs,
      workerTimeoutMs: config.workerTimeoutMs,
      sizer,
      worker: this.registry,
      clock,
      log,
    });
    this.#owner = new JobOwner({
      nc,
      names,
      topology,
      supervisor: this.#jobs,
      actorDeps: {
        ...ports,
        store: this.gateway.jobs,
        pool: this.#pool,
        events: this.events,
        pipeline: this.pipelineEvents,
        faults: config.faults,
        sizer,
        tickMs: config.heartbeatIntervalMs,
        artifacts: {
          store: stores.artifacts,
          bytes: datasets.bytes,
          models,
          // Test-only (TROUPE_FAULTS artifacts): killed half-way, as `kill -9` would.
          between: (written) => {
            if (written > 0 && config.faults.killWritingArtifacts())
              process.kill(process.pid, "SIGKILL");
          },
        },
        queueBook: this.gateway.book,
        admission: admissionOf(config, topology, renewEveryMs, clock, log),
        placement: {
          view: this.view,
          classes: ports.classes,
          maxUnschedulableMs: config.maxUnschedulableMs,
        },
        log,
      },
      log,
    });
    const nudges = nc.subscribe(names.internal.allJobNudges, {
      callback: (_error, msg) => {
        const jobId = msg.subject.slice(msg.subject.lastIndexOf(".") + 1);
        this.#owner.tell(jobId, { kind: "nudge" });
      },
    });
    this.#workflows = workflowDriving({
      nc,
      names,
      topology,
      system: this.system,
      gateway: this.gateway,
      jobEvents: ports.jobEvents,
      events: this.events,
      driver: { worker_id: this.registry.workerId, pid: process.pid },
      tickMs: config.heartbeatIntervalMs,
      log,
    });
    this.#unsubscribeNudges = () => nudges.unsubscribe();
    this.#sampler = new QueueSampler({
      queuedTasks: async () => (await this.gateway.queueStatus({})).pending,
      activeWorkers: async () => (await this.gateway.workers({})).active_workers,
      pipeline: this.pipelineEvents,
      everyMs: config.heartbeatIntervalMs,
      clock,
      log,
    });
  }

  static async start(options: PipelineOptions): Promise<Pipeline> {
    const { config, log, signal } = options;
    const names = namesFor(config.prefix);
    const heartbeatMs = config.heartbeatIntervalMs;
    const topology = await ensureTopology(options.nc, names, {
      replicas: config.replicas,
      leaseMs: heartbeatMs * LEASE_HEARTBEATS,
      jobLeaseMs: heartbeatMs * JOB_LEASE_HEARTBEATS,
      historyRetentionMs: config.analyticsRetentionMs,
      log,
      signal,
    });
    const stores = await untilNatsAnswers(
      () => openDataStores(options.nc, names, topology, config.replicas),
      { step: "create the object stores", log, signal },
    );
    const pipeline = new Pipeline(options, topology, names, stores);
    try {
      await untilNatsAnswers(() => pipeline.registry.start(), {
        step: "register the worker",
        log,
        signal,
      });
      pipeline.view.start();
      pipeline.#dispatcher.start();
      pipeline.#sampler.start();
      await untilNatsAnswers(() => pipeline.#owner.start(), { step: "take jobs", log, signal });
      pipeline.#retention.start();
      await untilNatsAnswers(() => pipeline.#workflows.owner.start(), {
        step: "take workflows",
        log,
        signal,
      });
    } catch (error) {
      // Stopped (or refused) half-way: what did start is stopped, as a started pipeline would be.
      await pipeline.close();
      throw error;
    }
    return pipeline;
  }

  /**
   * Stops in order: no new tasks or jobs; running tasks get `drainTimeoutMs` to finish, then are
   * aborted and handed back at once; owned jobs are handed back; then the actors, the pool and
   * the registry. Bounded: `drainTimeoutMs` plus a few seconds when NATS answers.
   */
  async close(): Promise<void> {
    const { log, config } = this.#o;
    const steps: [string, () => unknown][] = [
      ["stop nudges", () => this.#unsubscribeNudges()],
      ["stop retention", () => this.#retention.close()],
      ["stop sampling the queue", () => this.#sampler.stop()],
      ["mark worker draining", () => this.registry.drain()],
      ["stop taking jobs", () => this.#owner.stopTaking()],
      ["stop workflow nudges", () => this.#workflows.stopNudges()],
      ["hand back workflows", () => this.#workflows.owner.stop()],
      ["drain running tasks", () => this.#drainTasks(config.drainTimeoutMs)],
      ["stop worker slots", () => this.#workers.close()],
      ["hand back job leases", () => this.#owner.stop()],
      ["stop actors", () => this.system.shutdown()],
      ["stop abort listener", () => this.#aborts.close()],
      ["stop readiness checks", () => this.#readiness.close()],
      ["stop following the queue book", () => this.gateway.book.close()],
      ["stop following the job history", () => this.gateway.history.close()],
      ["stop following the workers", () => this.view.close()],
      ["leave the worker registry", () => this.registry.close()],
      ["close the pool", () => this.#pool.close({ force: true })],
    ];
    for (const [name, step] of steps) {
      try {
        await step();
      } catch (error) {
        log.warn({ err: error, step: name }, "shutdown step failed");
      }
    }
  }

  /**
   * Stops pulling; running tasks get `drainTimeoutMs` to finish; those still running then are
   * aborted and handed back (nak without delay), and the doorbell tells idle peers to pull now.
   */
  async #drainTasks(drainTimeoutMs: number): Promise<void> {
    const { log, nc } = this.#o;
    const drained = this.#dispatcher.stop();
    if (await settlesWithin(drained, drainTimeoutMs)) return;
    log.info(
      { running: this.#dispatcher.running, drainTimeoutMs },
      "drain timeout: handing running tasks back",
    );
    this.#handBack.abort();
    if (!(await settlesWithin(drained, HAND_BACK_MS))) {
      log.warn({ running: this.#dispatcher.running }, "tasks not handed back in time");
    }
    nc.publish(this.names.internal.doorbell);
  }
}

/** Job-level quotas (MAX_CONCURRENT_JOBS, SERVICE_<NAME>_RUNS_PER_USER), when any is set. */
function admissionOf(
  config: TroupeConfig,
  topology: Topology,
  refreshMs: number,
  clock: Clock,
  log: Logger,
): Admission | undefined {
  const limits = {
    maxConcurrentJobs: config.maxConcurrentJobs,
    servicePerUser: config.serviceRunsPerUser,
  };
  if (limits.maxConcurrentJobs === undefined && limits.servicePerUser.size === 0) return undefined;
  return new Admission({ kv: topology.kv.quota, limits, refreshMs, clock, log });
}

/** Resolves true when `promise` settles within `ms`, false when the time runs out first. */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const settled = promise.then(
    () => true,
    () => true,
  );
  return Promise.race([settled, timeout]).finally(() => clearTimeout(timer));
}

/** Supervision is visible in the log: every restart with its cause, escalations, the fatal end. */
function logActorEvents(system: ActorSystem, log: Logger): void {
  system.events.subscribe((event) => {
    switch (event.type) {
      case "restarted":
        log.warn(
          { actor: event.actor, err: event.error, attempt: event.attempt },
          "actor restarted",
        );
        break;
      case "escalated":
        log.error({ actor: event.actor, err: event.error }, "supervisor escalated");
        break;
      case "fatal":
        log.fatal({ actor: event.actor, err: event.error }, "supervision gave up at the root");
        break;
      case "hook-failed":
        log.warn({ actor: event.actor, err: event.error }, "actor lifecycle hook failed");
        break;
      default:
        break;
    }
  });
}
