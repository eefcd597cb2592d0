import type { Priority } from "../contract/priorities.ts";

/**
 * Every NATS subject, stream, consumer and bucket name Troupe uses, derived from the prefix
 * (TROUPE_PREFIX, default `troupe`). Nothing else in the code spells a subject.
 */
/**
 * The prefix of every inbox a `troupe` process creates (request replies, JetStream deliveries).
 * Not `_INBOX`: clients such as the nats CLI reply on `_INBOX.>`, which nats.conf lets a submitter
 * read, and a submitter must not read a process's task deliveries or KV replies.
 */
export const RUNTIME_INBOX_PREFIX = "_INBOX_troupe";

export interface Names {
  readonly prefix: string;
  /** Public request subjects (DESIGN §2.3), served by the `troupe` micro service. */
  readonly api: {
    readonly submit: string;
    readonly get: string;
    readonly list: string;
    readonly cancel: string;
    readonly workersList: string;
    readonly queueStatus: string;
    readonly priority: string;
    readonly reorder: string;
    readonly pause: string;
    readonly resume: string;
    readonly analytics: string;
    /** Operators only: the submitter user may not call it (deploy/accounts.conf). */
    readonly adminCleanup: string;
    /** A job's artifacts (list). */
    readonly jobsArtifacts: string;
    readonly jobsDependencies: string;
    readonly workflowsSubmit: string;
    readonly workflowsGet: string;
    readonly workflowsList: string;
    readonly workflowsCancel: string;
    readonly templatesList: string;
    readonly templatesGet: string;
    readonly templatesCreate: string;
    readonly templatesDelete: string;
    /** Total, allocated and free resources, cluster-wide and per worker (DESIGN §5.4). */
    readonly resourcesAvailability: string;
  };
  /** Public events (core NATS, JSON). */
  readonly events: {
    readonly all: string;
    job(jobId: string): string;
    readonly allJobs: string;
    task(jobId: string, taskIndex: number): string;
    /** Every task event of one job. */
    tasksOf(jobId: string): string;
    /** The tasks of one chunk (several tasks run together), in one event. */
    chunk(jobId: string, chunk: number): string;
    /** Every chunk event of one job. */
    chunksOf(jobId: string): string;
    worker(workerId: string): string;
    readonly allWorkers: string;
    /** A workflow's state and its steps' (`troupe.events.workflow.<workflow_id>`). */
    workflow(workflowId: string): string;
    /** A plain publish (no reply subject) to a request subject that was refused. */
    readonly rejected: string;
  };
  /** Internal subjects: never captured by a stream the public API publishes to (DESIGN §4). */
  readonly internal: {
    /** One lease message per job (stream `jobsStream`). */
    job(jobId: string): string;
    readonly allJobs: string;
    /** A task in its priority lane (stream `tasksStream`). */
    task(priority: Priority, jobId: string): string;
    lane(priority: Priority): string;
    /** A task in the lane of its resource class (`tasks.<priority>.<class>.<job>`). */
    classTask(priority: Priority, laneClass: string, jobId: string): string;
    classLane(priority: Priority, laneClass: string): string;
    /** Every queued task of one job, in any lane (for purging a finished job's leftovers). */
    tasksOf(jobId: string): string;
    /** The same, in any class lane. */
    classTasksOf(jobId: string): string;
    /** Every task subject of a priority, in its default lane or a class lane. */
    priorityTasks(priority: Priority): string;
    readonly allTasks: string;
    /** Rung after tasks are queued: idle dispatchers pull at once instead of at their next poll. */
    readonly doorbell: string;
    /** "Look at your job again" to whichever process owns it (cancel, new result). */
    jobNudge(jobId: string): string;
    readonly allJobNudges: string;
    /** "A chunk's generation is recorded" to the job's actor (`recorded.<job>.<chunk>.<gen>`). */
    recorded(jobId: string, chunk: number, generation: number): string;
    /** Every such notice of one job. */
    recordedOf(jobId: string): string;
    /** "Abort this job's running tasks" to every process. */
    abort(jobId: string): string;
    readonly allAborts: string;
    /** One lease message per live workflow (stream `workflowsStream`). */
    workflow(workflowId: string): string;
    readonly allWorkflows: string;
    /** "Look at your workflow again" to whichever process drives it (cancel). */
    workflowNudge(workflowId: string): string;
    readonly allWorkflowNudges: string;
    /** "Stop this job's running tasks, it is paused" to every process. */
    pause(jobId: string): string;
    readonly allPauses: string;
    /** An ended job's summary (stream `historyStream`). */
    history(jobId: string): string;
    readonly allHistory: string;
  };
  /** Location-transparent actors. */
  actor(name: string): string;
  readonly jobsStream: string;
  readonly tasksStream: string;
  /** Ended jobs' summaries, kept ANALYTICS_RETENTION (analytics). */
  readonly historyStream: string;
  /** Durable consumer shared by all processes: whoever holds a job's message owns the job. */
  readonly jobOwnersConsumer: string;
  readonly workflowsStream: string;
  /** Durable consumer shared by all processes: whoever holds a workflow's message drives it. */
  readonly workflowOwnersConsumer: string;
  laneConsumer(priority: Priority): string;
  /** The durable consumer of a resource class's lane (placement). */
  classLaneConsumer(priority: Priority, laneClass: string): string;
  readonly buckets: {
    /** job_id → job record. */
    readonly jobs: string;
    /** hash of idempotency_key → job_id. */
    readonly idempotency: string;
    /** `<job_id>.<chunk>` → a chunk's delivery counts (crashes, hand-backs). */
    readonly tasks: string;
    /** `<job_id>.<chunk>.<generation>` → what one attempt of a chunk came to, written once. */
    readonly results: string;
    /** `<job_id>.<task_index>` → the latest checkpoint of a running task. */
    readonly checkpoints: string;
    /** worker_id → worker activity record. */
    readonly workers: string;
    /** `<user>.<slot>` → holder, the cluster-wide per-user quota semaphore. */
    readonly quota: string;
    /** Object store: `<dataset_id>.csv`, uploaded data sets (DESIGN §5.1). */
    readonly datasets: string;
    /** Object store: `<job_id>/<file>`, a completed job's artifacts (DESIGN §5.1). */
    readonly artifacts: string;
    /** `datasets.<id>` → metadata, `cleaned.<job_id>` → when retention removed it, `leases.*`. */
    readonly catalog: string;
    /** workflow_id → workflow record. */
    readonly workflows: string;
    /** template id → job template. */
    readonly templates: string;
    /** job_id → the job's queue book entry (ports.ts QueueEntry), while the job lives. */
    readonly queue: string;
    /** class key → a resource class (need, service, node selector) whose lanes exist. */
    readonly classes: string;
  };
}

/** Builds the names for a prefix such as `troupe` or `lab.troupe`. */
export function names(prefix: string): Names {
  const p = prefix;
  // Stream and bucket names cannot hold dots: `lab.troupe` → LAB_TROUPE_JOBS, lab_troupe_jobs.
  const upper = prefix.replace(/[.-]/g, "_").toUpperCase();
  const lower = upper.toLowerCase();
  return Object.freeze({
    prefix,
    api: Object.freeze({
      submit: `${p}.jobs.submit`,
      get: `${p}.jobs.get`,
      list: `${p}.jobs.list`,
      cancel: `${p}.jobs.cancel`,
      workersList: `${p}.workers.list`,
      queueStatus: `${p}.queue.status`,
      priority: `${p}.jobs.priority`,
      reorder: `${p}.queue.reorder`,
      pause: `${p}.jobs.pause`,
      resume: `${p}.jobs.resume`,
      analytics: `${p}.analytics.get`,
      adminCleanup: `${p}.admin.cleanup`,
      jobsArtifacts: `${p}.jobs.artifacts`,
      jobsDependencies: `${p}.jobs.dependencies`,
      workflowsSubmit: `${p}.workflows.submit`,
      workflowsGet: `${p}.workflows.get`,
      workflowsList: `${p}.workflows.list`,
      workflowsCancel: `${p}.workflows.cancel`,
      templatesList: `${p}.templates.list`,
      templatesGet: `${p}.templates.get`,
      templatesCreate: `${p}.templates.create`,
      templatesDelete: `${p}.templates.delete`,
      resourcesAvailability: `${p}.resources.availability`,
    }),
    events: Object.freeze({
      all: `${p}.events.>`,
      job: (jobId: string) => `${p}.events.job.${jobId}`,
      allJobs: `${p}.events.job.*`,
      task: (jobId: string, taskIndex: number) => `${p}.events.task.${jobId}.${taskIndex}`,
      tasksOf: (jobId: string) => `${p}.events.task.${jobId}.*`,
      chunk: (jobId: string, chunk: number) => `${p}.events.chunk.${jobId}.${chunk}`,
      chunksOf: (jobId: string) => `${p}.events.chunk.${jobId}.*`,
      worker: (workerId: string) => `${p}.events.worker.${workerId}`,
      allWorkers: `${p}.events.worker.*`,
      workflow: (workflowId: string) => `${p}.events.workflow.${workflowId}`,
      rejected: `${p}.events.rejected`,
    }),
    internal: Object.freeze({
      job: (jobId: string) => `${p}.internal.jobs.${jobId}`,
      allJobs: `${p}.internal.jobs.*`,
      task: (priority: Priority, jobId: string) => `${p}.internal.tasks.${priority}.${jobId}`,
      lane: (priority: Priority) => `${p}.internal.tasks.${priority}.*`,
      classTask: (priority: Priority, laneClass: string, jobId: string) =>
        `${p}.internal.tasks.${priority}.${laneClass}.${jobId}`,
      // One token more than a default lane's subjects: the filters never overlap (work queue).
      classLane: (priority: Priority, laneClass: string) =>
        `${p}.internal.tasks.${priority}.${laneClass}.*`,
      tasksOf: (jobId: string) => `${p}.internal.tasks.*.${jobId}`,
      classTasksOf: (jobId: string) => `${p}.internal.tasks.*.*.${jobId}`,
      priorityTasks: (priority: Priority) => `${p}.internal.tasks.${priority}.>`,
      allTasks: `${p}.internal.tasks.>`,
      doorbell: `${p}.internal.doorbell`,
      jobNudge: (jobId: string) => `${p}.internal.nudge.${jobId}`,
      allJobNudges: `${p}.internal.nudge.*`,
      recorded: (jobId: string, chunk: number, generation: number) =>
        `${p}.internal.recorded.${jobId}.${chunk}.${generation}`,
      recordedOf: (jobId: string) => `${p}.internal.recorded.${jobId}.>`,
      abort: (jobId: string) => `${p}.internal.abort.${jobId}`,
      allAborts: `${p}.internal.abort.*`,
      workflow: (workflowId: string) => `${p}.internal.workflows.${workflowId}`,
      allWorkflows: `${p}.internal.workflows.*`,
      workflowNudge: (workflowId: string) => `${p}.internal.wfnudge.${workflowId}`,
      allWorkflowNudges: `${p}.internal.wfnudge.*`,
      pause: (jobId: string) => `${p}.internal.pause.${jobId}`,
      allPauses: `${p}.internal.pause.*`,
      history: (jobId: string) => `${p}.internal.history.${jobId}`,
      allHistory: `${p}.internal.history.*`,
    }),
    actor: (name: string) => `${p}.actor.${name}`,
    jobsStream: `${upper}_JOBS`,
    tasksStream: `${upper}_TASKS`,
    historyStream: `${upper}_HISTORY`,
    jobOwnersConsumer: "job-owners",
    workflowsStream: `${upper}_WORKFLOWS`,
    workflowOwnersConsumer: "workflow-owners",
    laneConsumer: (priority: Priority) => `lane-${priority}`,
    classLaneConsumer: (priority: Priority, laneClass: string) => `lane-${priority}-${laneClass}`,
    buckets: Object.freeze({
      jobs: `${lower}_jobs`,
      idempotency: `${lower}_idempotency`,
      tasks: `${lower}_tasks`,
      results: `${lower}_results`,
      checkpoints: `${lower}_checkpoints`,
      workers: `${lower}_workers`,
      quota: `${lower}_quota`,
      datasets: `${lower}_datasets`,
      artifacts: `${lower}_artifacts`,
      catalog: `${lower}_catalog`,
      workflows: `${lower}_workflows`,
      templates: `${lower}_templates`,
      queue: `${lower}_queue`,
      classes: `${lower}_classes`,
    }),
  });
}
