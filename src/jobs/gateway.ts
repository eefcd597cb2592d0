import { createHash } from "node:crypto";
import Type, { type Static, type TSchema } from "typebox";
import type { AnalyticsReport } from "../analytics/analytics.ts";
import { JobHistory } from "../analytics/job-history.ts";
import type { DataGateway } from "../artifacts/data-gateway.ts";
import type { Retention, RetentionCounts } from "../artifacts/retention.ts";
import type { Clock } from "../clock.ts";
import type { JobEvent, TaskEvent } from "../contract/events.ts";
import type { ResourceAvailability } from "../contract/resources.ts";
import {
  type FieldProblem,
  InvalidRequestError,
  JobEndedError,
  JobNotFoundError,
  NotReadyError,
  WorkerNotFoundError,
} from "../errors.ts";
import type { Logger } from "../log.ts";
import { availability } from "../placement/availability.ts";
import { QueueBook } from "../queue/queue-book.ts";
import { QueueControl, type ReorderReply } from "../queue/queue-control.ts";
import { type QueueStatus, queueStatus } from "../queue/queue-status.ts";
import type { NatsConnection } from "../transport/connection.ts";
import { type EventPublisher, subscribeJobEvents } from "../transport/events.ts";
import { kvKeys } from "../transport/kv.ts";
import { natsWorkflowPorts } from "../transport/nats-ports.ts";
import type { TaskPorts, WorkflowPorts } from "../transport/ports.ts";
import type { NatsReadiness } from "../transport/readiness.ts";
import type { Topology } from "../transport/streams.ts";
import type { Names } from "../transport/subjects.ts";
import { schemaProblems } from "../validation.ts";
import { type WorkerHealth, workerHealth } from "../workers/worker-health.ts";
import {
  summarize,
  type WorkerActivity,
  type WorkerRecord,
  type WorkerView,
  workerView,
} from "../workers/worker-record.ts";
import { type LocalWorker, readAll, removeStale } from "../workers/worker-registry.ts";
import { namingTemplates } from "../workflows/template-merge.ts";
import { TemplateService } from "../workflows/template-service.ts";
import { WorkflowService } from "../workflows/workflow-service.ts";
import { WorkflowStore } from "../workflows/workflow-store.ts";
import type { ChunkSizer } from "./chunk-sizing.ts";
import { addDependencies, checkDependenciesExist } from "./dependency-requests.ts";
import { JobPause } from "./job-pause.ts";
import { createdMsOf, type JobRecord, newJobId, newJobRecord } from "./job-record.ts";
import { type JobSpec, parseJobSpec } from "./job-spec.ts";
import { isTerminalJobState, JOB_STATES } from "./job-state.ts";
import { JobStore } from "./job-store.ts";

const encoder = new TextEncoder();
const JOB_ID = "^job_[0-9a-z]{19}$";

export const JobIdQuerySchema = Type.Object(
  { job_id: Type.String({ pattern: JOB_ID, description: "A job id as returned by submit." }) },
  { additionalProperties: false },
);
export const WorkerIdQuerySchema = Type.Object(
  { worker_id: Type.String({ minLength: 1, maxLength: 128 }) },
  { additionalProperties: false },
);
export const ListQuerySchema = Type.Object(
  {
    status: Type.Optional(Type.Enum([...JOB_STATES])),
    user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
    cursor: Type.Optional(Type.String({ pattern: JOB_ID })),
  },
  { additionalProperties: false },
);
const EmptyQuerySchema = Type.Object({}, { additionalProperties: false });

export interface SubmitReply {
  job_id: string;
  status: string;
  total_tasks: number;
  /** True when the idempotency_key named an existing job, which is returned instead. */
  duplicate: boolean;
  /** For people (seed 001's reply has it). */
  message: string;
  /** Its place in the queue (1 = starts next), while it waits. */
  queue_position?: number;
  /** When it should start at the recent rate of job starts; null while none is known. */
  estimated_start_time?: string | null;
}

/** A job record, with its place in the queue while it waits. */
export type JobView = JobRecord & { queue_position?: number; estimated_start_time?: string | null };

export interface CleanupReply {
  ok: true;
  /** How many things were removed (seed 003's answer). */
  removed: number;
  /** The ids of the stale workers removed. */
  workers_removed: string[];
}

/** With retention (DESIGN §5.1): what it removed too. */
export type CleanupCounts = CleanupReply & Partial<Omit<RetentionCounts, "ran">>;

export interface GatewayOptions {
  nc: NatsConnection;
  names: Names;
  topology: Topology;
  events: EventPublisher;
  /** The job records, the task queue, the abort signal, the queue book. */
  ports: Pick<TaskPorts, "jobs" | "queue" | "signals" | "book" | "history">;
  /** Whether NATS answers and the streams are there (`/readyz`). */
  readiness: Pick<NatsReadiness, "isReady">;
  /** Attempts of a task when its spec does not say (MAX_RETRIES + 1). */
  defaultMaxAttempts: number;
  workerTimeoutMs: number;
  /** Sizes each job's chunks at submit. */
  sizer: ChunkSizer;
  /** timeout_s of a job whose spec sets none (JOB_TIMEOUT); undefined: none. */
  defaultTimeoutS?: number | undefined;
  /** How long ended jobs' summaries are kept (ANALYTICS_RETENTION). @default 168 h */
  historyRetentionMs?: number | undefined;
  /** This process's worker, for `/health`; a gateway without one answers 503 there. */
  worker?: LocalWorker | undefined;
  /** Data sets, artifacts, predictions (DESIGN §5.1); absent, jobs train on built-in data only. */
  data?: DataGateway | undefined;
  /** Removes jobs past RETENTION; cleanup runs it too. */
  retention?: Pick<Retention, "run"> | undefined;
  clock: Clock;
  log: Logger;
  /** The workflow and template buckets (default: those of `topology`). */
  workflowPorts?: WorkflowPorts | undefined;
}

/**
 * What every door does (NATS service, HTTP, CLI), written once. Bodies arrive decoded but
 * unchecked; each call validates its own input and throws typed errors only.
 */
export class Gateway {
  readonly #o: GatewayOptions;
  readonly jobs: JobStore;
  /** Data in, models out (DESIGN §5.1). */
  readonly data: DataGateway | undefined;
  /** Workflows (DESIGN §5.2): submit, get, list, cancel. */
  readonly workflows: WorkflowService;
  readonly workflowStore: WorkflowStore;
  /** Job templates (DESIGN §5.2): list, get, create, delete. */
  readonly templates: TemplateService;
  /** This process's view of the queue book (followed from the start): positions, queue status. */
  readonly book: QueueBook;
  /** This process's copy of the ended jobs' history (analytics). */
  readonly history: JobHistory;
  readonly #control: QueueControl;
  readonly #pause: JobPause;

  constructor(options: GatewayOptions) {
    this.#o = options;
    this.jobs = new JobStore(options.ports.jobs);
    this.data = options.data;
    const { nc, names, topology } = options;
    const workflowPorts = options.workflowPorts ?? natsWorkflowPorts(names, topology);
    this.workflowStore = new WorkflowStore(workflowPorts.workflows);
    this.templates = new TemplateService({
      bucket: workflowPorts.templates,
      clock: options.clock,
      check: (body) => {
        try {
          parseJobSpec(body, { maxAttempts: options.defaultMaxAttempts });
          return [];
        } catch (error) {
          if (error instanceof InvalidRequestError) return [...error.problems];
          throw error;
        }
      },
    });
    this.workflows = new WorkflowService({
      store: this.workflowStore,
      publishLease: async (id) => {
        await topology.publisher.publish(names.internal.workflow(id), encoder.encode(id), {
          msgId: id,
        });
      },
      nudge: (id) => nc.publish(names.internal.workflowNudge(id)),
      events: options.events,
      checkJob: (body) => this.checkJob(body),
      cancelJob: (jobId) => this.cancelIfLive(jobId),
      clock: options.clock,
    });
    this.book = new QueueBook(options.clock);
    this.book.follow(options.ports.book);
    this.history = new JobHistory(
      options.ports.history,
      options.clock,
      options.historyRetentionMs ?? 168 * 3_600_000,
    );
    const { queue, book: index } = options.ports;
    this.#control = new QueueControl({
      store: this.jobs,
      queue,
      index,
      book: this.book,
      clock: options.clock,
    });
    this.#pause = new JobPause({
      store: this.jobs,
      queue,
      signals: options.ports.signals,
      nudge: (jobId) => options.nc.publish(options.names.internal.jobNudge(jobId)),
      clock: options.clock,
    });
  }

  /** Validates a job spec and queues the job for an owner; idempotent by `idempotency_key`. */
  async submit(body: unknown): Promise<SubmitReply> {
    const spec = await this.#parse(body);
    spec.timeout_s ??= this.#o.defaultTimeoutS;
    if (spec.depends_on) await checkDependenciesExist(this.jobs, spec.depends_on);
    let jobId = newJobId(this.#o.clock.now());
    if (spec.idempotency_key !== undefined) {
      const claimed = await this.#claimIdempotencyKey(spec.idempotency_key, jobId);
      if (claimed !== jobId) {
        const existing = await this.jobs.get(claimed);
        if (existing) return reply(existing.value, true);
        jobId = claimed; // the first submit died between claiming the key and creating the job
      }
    }
    const record = newJobRecord(
      jobId,
      spec,
      new Date(this.#o.clock.now()),
      this.#o.sizer.size(spec),
    );
    // The record and the lease message (whichever process pulls it owns the job; its id
    // de-duplicates retries) are written together, in one round trip: an owner that finds no
    // record yet looks again shortly (job-actor.ts). Both are stored before the reply.
    const [created] = await Promise.all([
      this.jobs.create(record),
      this.#o.topology.publisher.publish(this.#o.names.internal.job(jobId), encoder.encode(jobId), {
        msgId: jobId,
      }),
    ]);
    if (!created) {
      const existing = await this.jobs.get(jobId);
      if (existing) return reply(existing.value, true);
    }
    this.#o.events.job(jobEventOf(record));
    const queue_position = this.book.positionOfNew(spec.priority);
    const estimated_start_time = this.book.estimatedStart(queue_position);
    return { ...reply(record, false), queue_position, estimated_start_time };
  }

  async get(body: unknown): Promise<JobView> {
    const { job_id } = check(JobIdQuerySchema, body, "job query");
    const record = await this.jobs.get(job_id);
    if (!record) throw new JobNotFoundError(job_id);
    const queue_position = this.book.position(job_id);
    if (queue_position === undefined || record.value.status !== "QUEUED") return record.value;
    const estimated_start_time = this.book.estimatedStart(queue_position);
    return { ...record.value, queue_position, estimated_start_time };
  }

  /** Moves a live job and its queued tasks to another priority (`reason` kept in its history). */
  priority(body: unknown): Promise<JobRecord> {
    return this.#control.priority(body);
  }

  /** Pauses a queued or running job: nothing more of it runs, its running tasks checkpointed. */
  pause(body: unknown): Promise<JobRecord> {
    return this.#pause.pause(body);
  }

  /** Resumes a paused job from its records and checkpoints. */
  resume(body: unknown): Promise<JobRecord> {
    return this.#pause.resume(body);
  }

  /** Throughput, success and failures, resource use, per model type and user, over a window. */
  analytics(body: unknown): Promise<AnalyticsReport> {
    return this.history.report(body);
  }

  /** Puts a queued job at `new_position` among the queued jobs of its priority. */
  reorder(body: unknown): Promise<ReorderReply> {
    return this.#control.reorder(body);
  }

  async list(body: unknown): Promise<{ jobs: JobRecord[]; next_cursor: string | null }> {
    const query = check(ListQuerySchema, body ?? {}, "list query");
    return this.jobs.list({ ...query, limit: query.limit ?? 50 });
  }

  /**
   * Cancels a job that has not ended: its queued tasks are removed at once and its running tasks
   * aborted wherever they run; its owner finishes the bookkeeping.
   * @throws JobEndedError (409) naming the state of a job that has already ended.
   */
  async cancel(body: unknown): Promise<JobRecord> {
    const { job_id } = check(JobIdQuerySchema, body, "cancel request");
    const now = new Date(this.#o.clock.now()).toISOString();
    let ended: string | undefined;
    const record = await this.jobs.update(job_id, (job) => {
      ended = isTerminalJobState(job.status) ? job.status : undefined;
      if (ended) return undefined;
      return { ...job, status: "CANCELLED", finished_at: now, error: "cancelled on request" };
    });
    if (!record) throw new JobNotFoundError(job_id);
    if (ended) throw new JobEndedError(job_id, ended);
    await Promise.all([this.#o.ports.queue.purge(job_id), this.#o.ports.book.remove(job_id)]);
    this.#o.ports.signals.abort(job_id);
    this.#o.nc.publish(this.#o.names.internal.jobNudge(job_id));
    this.#o.events.job(jobEventOf(record));
    return record;
  }

  /**
   * Adds dependencies to a job not queued yet (409 otherwise); unknown jobs and cycles are
   * refused, naming them. Its owner looks again at once.
   */
  async addDependencies(body: unknown): Promise<JobRecord> {
    const record = await addDependencies(this.jobs, body);
    this.#o.nc.publish(this.#o.names.internal.jobNudge(record.job_id));
    this.#o.events.job(jobEventOf(record));
    return record;
  }

  /** Cancels a job unless it has ended (or is gone): what a workflow does to its step jobs. */
  async cancelIfLive(jobId: string): Promise<void> {
    try {
      await this.cancel({ job_id: jobId });
    } catch (error) {
      if (!(error instanceof JobEndedError || error instanceof JobNotFoundError)) throw error;
    }
  }

  /** A job body's problems as its submit would find them (templates merged). */
  async checkJob(body: unknown): Promise<FieldProblem[]> {
    try {
      await this.#parse(body);
      return [];
    } catch (error) {
      if (error instanceof InvalidRequestError) return [...error.problems];
      throw error;
    }
  }

  /** The one job schema, after merging a `template` chain; problems name the template at fault. */
  async #parse(body: unknown): Promise<JobSpec> {
    const merged = await this.templates.resolve(body);
    // Data sets are looked up in the merged spec: a template may name one.
    const prepared = await this.data?.prepare(merged?.body ?? body);
    try {
      return parseJobSpec(prepared?.body ?? merged?.body ?? body, {
        maxAttempts: this.#o.defaultMaxAttempts,
        datasets: prepared?.datasets,
      });
    } catch (error) {
      if (merged && error instanceof InvalidRequestError)
        throw namingTemplates(error, merged.setBy);
      throw error;
    }
  }

  async workers(body: unknown): Promise<WorkerActivity> {
    check(EmptyQuerySchema, body ?? {}, "workers query");
    return summarize(await this.#readWorkers());
  }

  async worker(body: unknown): Promise<WorkerView> {
    const { worker_id } = check(WorkerIdQuerySchema, body, "worker query");
    const found = (await this.#readWorkers()).find((w) => w.worker_id === worker_id);
    if (!found) throw new WorkerNotFoundError(worker_id);
    return workerView(found);
  }

  /**
   * Total, allocated and free resources of the live workers, summed and per worker (DESIGN §5.4):
   * read from their records, so a killed worker's share leaves within two heartbeats.
   */
  async resourcesAvailability(body: unknown): Promise<ResourceAvailability> {
    check(EmptyQuerySchema, body ?? {}, "availability query");
    return availability(await this.#readWorkers());
  }

  /** This process's worker, in seed 004's `/health` shape. */
  async health(): Promise<WorkerHealth> {
    const worker = this.#o.worker;
    if (!worker) throw new NotReadyError("this process runs no worker");
    const connected = await this.#o.readiness.isReady().catch(() => false);
    return workerHealth(worker, this.#o.clock.now(), connected);
  }

  /**
   * Removes what is left over now: the records of stale workers (two heartbeats missed; seed 003's
   * `/admin/cleanup`), and jobs that ended more than RETENTION ago (with their results, artifacts
   * and idempotency keys).
   */
  async cleanup(body: unknown): Promise<CleanupCounts> {
    check(EmptyQuerySchema, body ?? {}, "cleanup request");
    const { topology, names, clock, workerTimeoutMs, events } = this.#o;
    const removed = await removeStale(
      topology.kv.workers,
      () => kvKeys(topology.jsm, names.buckets.workers),
      clock.now(),
      workerTimeoutMs,
    );
    for (const workerId of removed)
      events.worker({ event: "gone", worker_id: workerId, status: "STALE" });
    const reply = { ok: true as const, removed: removed.length, workers_removed: removed };
    if (!this.#o.retention) return reply;
    const { ran: _, ...counts } = await this.#o.retention.run();
    return { ...reply, ...counts, removed: reply.removed + counts.jobs_removed };
  }

  async queueStatus(body: unknown): Promise<QueueStatus> {
    check(EmptyQuerySchema, body ?? {}, "queue query");
    const [backlog, workers] = await Promise.all([
      this.#o.ports.queue.backlog(),
      this.#readWorkers(),
    ]);
    return queueStatus({
      entries: this.book.entries(),
      backlog,
      runningTasks: workers.filter((w) => w.status !== "STALE").flatMap((w) => w.current_task_ids),
      createdMs: createdMsOf,
      nowMs: this.#o.clock.now(),
    });
  }

  /**
   * A job's live events (its state changes, its tasks' states and progress) until `signal` aborts;
   * subscribed at once, so a caller that reads the record next misses nothing in between.
   */
  watch(jobId: string, signal: AbortSignal): AsyncIterable<JobEvent | TaskEvent> {
    return subscribeJobEvents(this.#o.nc, this.#o.names, jobId, signal);
  }

  /** Ready to serve: connected to NATS, the streams present. */
  isReady(): Promise<boolean> {
    return this.#o.readiness.isReady();
  }

  /** Every worker record, one stale by its heartbeat reading as STALE; long-silent ones removed. */
  #readWorkers(): Promise<WorkerRecord[]> {
    const { topology, names, clock, workerTimeoutMs, events } = this.#o;
    return readAll(
      topology.kv.workers,
      () => kvKeys(topology.jsm, names.buckets.workers),
      clock.now(),
      workerTimeoutMs,
      (workerId) => events.worker({ event: "gone", worker_id: workerId, status: "STALE" }),
    );
  }

  /** Claims the key for `jobId` (KV create: first writer wins); returns the job id that holds it. */
  async #claimIdempotencyKey(key: string, jobId: string): Promise<string> {
    const kv = this.#o.topology.kv.idempotency;
    const hashed = createHash("sha256").update(key).digest("hex");
    try {
      await kv.create(hashed, encoder.encode(jobId));
      return jobId;
    } catch (error) {
      const entry = await kv.get(hashed);
      if (entry?.operation === "PUT") return entry.string();
      throw error;
    }
  }
}

function check<S extends TSchema>(schema: S, body: unknown, what: string): Static<S> {
  const problems = schemaProblems(schema, body);
  if (problems.length > 0) throw new InvalidRequestError(what, problems);
  return body as Static<S>;
}

function reply(record: JobRecord, duplicate: boolean): SubmitReply {
  return {
    job_id: record.job_id,
    status: record.status,
    total_tasks: record.total_tasks,
    duplicate,
    message: duplicate
      ? "Job already submitted with this idempotency_key: this is that job"
      : "Job submitted successfully",
  };
}

export function jobEventOf(record: JobRecord) {
  return {
    job_id: record.job_id,
    status: record.status,
    completed_tasks: record.completed_tasks,
    failed_tasks: record.failed_tasks,
    total_tasks: record.total_tasks,
    progress: record.progress,
    error: record.error,
    ...(record.unschedulable !== undefined && { unschedulable: record.unschedulable }),
  };
}
