import { availableParallelism } from "node:os";
import { constants, PerformanceObserver } from "node:perf_hooks";
import { getHeapStatistics } from "node:v8";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { ActorEvent } from "./actors/events.ts";
import type { PipelineEvent, PipelineEvents } from "./pipeline-events.ts";

/**
 * What the actor metrics read from an actor system: its lifecycle events (restarts) and its named
 * actors' mailbox depths. `ActorSystem` fits; so does a test double.
 */
export interface ActorMetricsSource {
  readonly events: { subscribe(listener: (event: ActorEvent) => void): () => void };
  stats(): { mailboxes: readonly { actor: string; depth: number }[] };
}

export interface MetricsOptions {
  /** The pipeline's fan-out of this process: every job and task metric is fed from it. */
  pipelineEvents: PipelineEvents;
  /** Restarts and mailbox depths; without it, call `observeActorEvent` and `observeMailboxes`. */
  actorSystem?: ActorMetricsSource;
  /** @default a new private Registry, so several instances (tests) never share series. */
  registry?: Registry;
  /** Node's default process metrics (heap, event loop lag, GC…). @default true */
  defaultMetrics?: boolean;
}

/** The Prometheus metrics of one process (DESIGN §2.6), defined in this one place. */
export interface Metrics {
  readonly registry: Registry;
  /** The `Content-Type` of `render()`'s text. */
  readonly contentType: string;
  /** The exposition text for `GET /metrics`. */
  render(): Promise<string>;
  /** Feeds one actor lifecycle event (for a runtime that wires the actor system itself). */
  observeActorEvent(event: ActorEvent): void;
  /** Sets the mailbox depth gauge from a snapshot; actors missing from it lose their series. */
  observeMailboxes(mailboxes: readonly { actor: string; depth: number }[]): void;
  /** Stops listening to the pipeline and the actor system. Idempotent. */
  close(): void;
}

// Jobs run from seconds to hours; tasks from well under a second to many minutes.
const JOB_DURATION_BUCKETS_S = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600];
const TASK_DURATION_BUCKETS_S = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];
/**
 * `worker_task_duration_seconds` keeps a `job_id` label (seed 004's) for the jobs that most
 * recently ran tasks in this process, this many: older jobs' series are removed. A job's series
 * lives on after it ends, through scrapes, while the series count stays bounded
 * (32 × 15 series per model type).
 */
export const TASK_DURATION_JOBS = 32;

/**
 * Defines every metric and subscribes it to its source. Handlers never touch metrics: the job and
 * task series come from `PipelineEvents`, the actor series from the actor system.
 *
 * Cardinality is bounded: `worker_training_loss{job_id,task_id}` only holds tasks running in this
 * process (a series is removed when its task finishes, and every series of a job when the job
 * finishes); `worker_task_duration_seconds{model_type,job_id}` only the last TASK_DURATION_JOBS
 * jobs; `troupe_mailbox_depth{actor}` only named actors that are alive. Label values are the
 * seed services' (lower-case statuses).
 */
export function createMetrics(options: MetricsOptions): Metrics {
  const registry = options.registry ?? new Registry();
  const registers = [registry];
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const stopHeapAfterGc =
    (options.defaultMetrics ?? true) ? observeHeapAfterGc(registers) : undefined;

  const jobsTotal = new Counter({
    name: "orchestrator_jobs_total",
    help: "Jobs that ended in this process, by end state (completed, failed, cancelled, timeout).",
    labelNames: ["status"] as const,
    registers,
  });
  const activeWorkers = new Gauge({
    name: "orchestrator_active_workers",
    help: "Workers (troupe processes) that are not stale, cluster-wide, as last sampled (every process reports the cluster's: aggregate with max, not sum).",
    registers,
  });
  const tasksQueued = new Gauge({
    name: "orchestrator_tasks_queued",
    help: "Tasks waiting in all priority lanes, cluster-wide, as last sampled (every process reports the cluster's: aggregate with max, not sum).",
    registers,
  });
  const jobDuration = new Histogram({
    name: "orchestrator_job_duration_seconds",
    help: "From submission to the end state, for jobs that ended in this process.",
    buckets: JOB_DURATION_BUCKETS_S,
    registers,
  });
  const taskRetries = new Counter({
    name: "orchestrator_task_retry_count",
    help: "Task attempts scheduled after a failed attempt.",
    registers,
  });
  const taskDuration = new Histogram({
    name: "worker_task_duration_seconds",
    help: `Wall time of one task attempt in this process; job_id for the ${TASK_DURATION_JOBS} jobs that ran tasks here last.`,
    labelNames: ["model_type", "job_id"] as const,
    buckets: TASK_DURATION_BUCKETS_S,
    registers,
  });
  const tasksCompleted = new Counter({
    name: "worker_tasks_completed_total",
    help: "Task attempts that ended in this process, by outcome (completed, failed, cancelled, retrying).",
    labelNames: ["status", "model_type"] as const,
    registers,
  });
  new Gauge({
    name: "worker_training_samples_per_second",
    help: "Training rows a second of the tasks running in this process (their latest epochs), by model type.",
    labelNames: ["model_type"] as const,
    registers,
    collect() {
      this.reset();
      const sums = new Map<string, number>();
      for (const { model_type, speed } of speeds.values())
        sums.set(model_type, (sums.get(model_type) ?? 0) + speed);
      for (const [model_type, speed] of sums) this.set({ model_type }, speed);
    },
  });
  let cpuBefore = process.cpuUsage();
  let cpuAt = performance.now();
  new Gauge({
    name: "worker_cpu_usage_percent",
    help: "CPU this process used since the previous scrape, percent of all cores.",
    registers,
    collect() {
      const now = performance.now();
      const used = process.cpuUsage(cpuBefore);
      const elapsedUs = Math.max(1, (now - cpuAt) * 1000);
      cpuBefore = process.cpuUsage();
      cpuAt = now;
      this.set(((used.user + used.system) / elapsedUs / availableParallelism()) * 100);
    },
  });
  new Gauge({
    name: "worker_memory_usage_bytes",
    help: "Resident memory of this process.",
    registers,
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  const trainingLoss = new Gauge({
    name: "worker_training_loss",
    help: "Latest epoch loss of each task running in this process (removed when it ends).",
    labelNames: ["job_id", "task_id"] as const,
    registers,
  });
  const concurrentTasks = new Gauge({
    name: "worker_concurrent_tasks",
    help: "Tasks running in this process now.",
    registers,
  });
  const actorRestarts = new Counter({
    name: "troupe_actor_restarts_total",
    help: "Supervised actor restarts, by actor path.",
    labelNames: ["actor"] as const,
    registers,
  });
  const mailboxDepth = new Gauge({
    name: "troupe_mailbox_depth",
    help: "Messages waiting in each named actor's mailbox.",
    labelNames: ["actor"] as const,
    registers,
    collect() {
      if (options.actorSystem) observeMailboxes(options.actorSystem.stats().mailboxes);
    },
  });
  concurrentTasks.set(0);

  const running = new Set<string>();
  // job_id → task ids with a loss series, so a job's end removes whatever its tasks left behind.
  const lossSeries = new Map<string, Set<string>>();
  // task id → its latest epoch's speed, while it runs here.
  const speeds = new Map<string, { model_type: string; speed: number }>();
  // job_id → its task duration series, least recently used first. The labelled children are
  // kept because a job's tasks finish by the hundred: one label lookup per job, not per task.
  const durationJobs = new Map<string, { model: string; series: { observe(v: number): void } }>();
  // `<status>/<model_type>` → its counter child, for the same reason.
  const completedSeries = new Map<string, { inc(): void }>();

  const observeDuration = (jobId: string, modelType: string, seconds: number) => {
    let known = durationJobs.get(jobId);
    if (known) durationJobs.delete(jobId);
    known ??= {
      model: modelType,
      series: taskDuration.labels({ model_type: modelType, job_id: jobId }),
    };
    durationJobs.set(jobId, known);
    for (const [oldest, { model }] of durationJobs) {
      if (durationJobs.size <= TASK_DURATION_JOBS) break;
      taskDuration.remove({ model_type: model, job_id: oldest });
      durationJobs.delete(oldest);
    }
    known.series.observe(seconds);
  };

  const countCompleted = (status: string, modelType: string) => {
    const key = `${status}/${modelType}`;
    let series = completedSeries.get(key);
    if (!series) {
      series = tasksCompleted.labels({ status: status.toLowerCase(), model_type: modelType });
      completedSeries.set(key, series);
    }
    series.inc();
  };

  const removeLoss = (jobId: string, taskId: string) => {
    const tasks = lossSeries.get(jobId);
    if (!tasks?.delete(taskId)) return; // a task of one epoch never had a loss series
    trainingLoss.remove({ job_id: jobId, task_id: taskId });
    if (tasks.size === 0) lossSeries.delete(jobId);
  };

  function onPipeline(event: PipelineEvent): void {
    switch (event.kind) {
      case "job_started":
        break;
      case "job_finished":
        jobsTotal.inc({ status: event.status.toLowerCase() });
        jobDuration.observe(event.duration_s);
        for (const taskId of lossSeries.get(event.job_id) ?? []) removeLoss(event.job_id, taskId);
        for (const key of running) if (key.startsWith(`${event.job_id}.`)) running.delete(key);
        for (const key of speeds.keys()) if (key.startsWith(`${event.job_id}.`)) speeds.delete(key);
        concurrentTasks.set(running.size);
        break;
      case "task_started":
        running.add(taskId(event));
        concurrentTasks.set(running.size);
        break;
      case "task_progress": {
        const id = taskId(event);
        trainingLoss.set({ job_id: event.job_id, task_id: id }, event.loss);
        const tasks = lossSeries.get(event.job_id) ?? new Set<string>();
        lossSeries.set(event.job_id, tasks.add(id));
        if (event.samples_per_s !== undefined)
          speeds.set(id, { model_type: event.model_type, speed: event.samples_per_s });
        break;
      }
      case "task_finished":
        running.delete(taskId(event));
        concurrentTasks.set(running.size);
        removeLoss(event.job_id, taskId(event));
        speeds.delete(taskId(event));
        observeDuration(event.job_id, event.model_type, event.duration_s);
        countCompleted(event.status, event.model_type);
        break;
      case "task_retried":
        taskRetries.inc();
        break;
      case "queue_sampled":
        tasksQueued.set(event.queued);
        activeWorkers.set(event.active_workers);
        break;
    }
  }

  function observeActorEvent(event: ActorEvent): void {
    if (event.type === "restarted") actorRestarts.inc({ actor: event.actor });
  }

  function observeMailboxes(mailboxes: readonly { actor: string; depth: number }[]): void {
    mailboxDepth.reset();
    for (const { actor, depth } of mailboxes) mailboxDepth.set({ actor }, depth);
  }

  const unsubscribe = [
    options.pipelineEvents.on(onPipeline),
    options.actorSystem?.events.subscribe(observeActorEvent),
  ];
  let closed = false;

  return {
    registry,
    get contentType() {
      return registry.contentType;
    },
    render: () => registry.metrics(),
    observeActorEvent,
    observeMailboxes,
    close() {
      if (closed) return;
      closed = true;
      for (const off of unsubscribe) off?.();
      stopHeapAfterGc?.();
    },
  };
}

/** A task's id in metrics and worker records: `<job_id>.<task_index>`. */
function taskId(event: { job_id: string; task_index: number }): string {
  return `${event.job_id}.${event.task_index}`;
}

/**
 * `troupe_heap_used_after_major_gc_bytes`: the heap a process keeps after each full collection.
 * The heap in use between collections is a sawtooth that says little about leaks; what survives
 * a major GC is what a leak makes grow.
 */
function observeHeapAfterGc(registers: Registry[]): () => void {
  const gauge = new Gauge({
    name: "troupe_heap_used_after_major_gc_bytes",
    help: "V8 heap in use right after the last major (mark-compact) garbage collection",
    registers,
  });
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      // Node's gc entries carry their kind in `detail` (typed as unknown on PerformanceEntry).
      const { kind } = (entry as unknown as { detail: { kind: number } }).detail;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR)
        gauge.set(getHeapStatistics().used_heap_size);
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  return () => observer.disconnect();
}
