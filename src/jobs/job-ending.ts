import { type JobArtifactsDeps, storeJobArtifacts } from "../artifacts/job-artifacts.ts";
import type { Logger } from "../log.ts";
import type { PipelineEvents } from "../pipeline-events.ts";
import { plannedEpochs } from "../training/limits.ts";
import type { TrainingPool } from "../training/pool.ts";
import type { Bucket, JobSignals, TaskQueue } from "../transport/ports.ts";
import type { TaskOutcome } from "../workers/chunk-message.ts";
import type { JobRecord } from "./job-record.ts";
import { isTerminalJobState, type JobState } from "./job-state.ts";
import { type Counts, type JobTally, withCounts } from "./job-tally.ts";

/**
 * The record a job ends with: its final state, counts and metrics — unless something else ended
 * it first (cancelled, or completed by another owner), whose state it keeps.
 */
export function finalRecord(
  job: JobRecord,
  end: { status: JobState; error: string | null; at: string; counts: Counts },
  metrics: JobRecord["metrics"] | undefined,
): JobRecord {
  const counted = withCounts(job, end.counts);
  if (isTerminalJobState(job.status)) return { ...counted, running_tasks: 0 };
  return {
    ...counted,
    running_tasks: 0,
    status: end.status,
    error: end.error,
    finished_at: end.at,
    metrics: metrics ?? counted.metrics,
  };
}

/** Queued tasks are dropped, running ones aborted wherever they run. */
export async function stopTasks(
  ports: { queue: TaskQueue; signals: JobSignals },
  jobId: string,
): Promise<void> {
  await ports.queue.purge(jobId);
  ports.signals.abort(jobId);
}

/**
 * Checkpoints and delivery counts of a finished job are scratch: one purge each — skipped for a
 * completed job that cannot have left any (tasks of one epoch save no checkpoint; chunks each
 * delivered once wrote no counts), which is most small jobs. `followed: false`: the job's records
 * were not followed here (a late lease of an ended job): both are purged.
 */
export async function purgeScratch(
  ports: { checkpoints: Bucket; counts: Bucket },
  record: JobRecord,
  seen: { followed: boolean; countsWritten: boolean },
): Promise<void> {
  const completed = record.status === "COMPLETED" && seen.followed;
  const scratch = [
    ...(!completed || plannedEpochs(record.spec) > 1 ? [ports.checkpoints] : []),
    ...(!completed || seen.countsWritten ? [ports.counts] : []),
  ];
  await Promise.all(scratch.map((bucket) => bucket.purge(`${record.job_id}.>`)));
}

/**
 * The job-level model from every task's model, evaluated on the shared held-out split; undefined
 * when a model was too large to keep or aggregation failed (the tasks' mean metrics stand in).
 */
export async function aggregateMetrics(
  pool: Pick<TrainingPool, "aggregate">,
  record: JobRecord,
  outcomes: Iterable<TaskOutcome>,
  log: Logger,
): Promise<JobRecord["metrics"] | undefined> {
  const models: Uint8Array[] = [];
  for (const outcome of outcomes) {
    if (!outcome.model) return undefined;
    models.push(outcome.model);
  }
  try {
    const result = await pool.aggregate({
      model_type: record.model_type,
      dataset: record.spec.dataset,
      models,
    });
    return { loss: result.metrics.loss, accuracy: result.metrics.accuracy };
  } catch (error) {
    log.warn({ err: error }, "aggregation failed; reporting the tasks' mean metrics");
    return undefined;
  }
}

/**
 * The metrics a completed job ends with, from its tasks' models: aggregated while its artifacts
 * are stored where the process keeps artifacts, aggregated alone otherwise.
 */
export function endingMetrics(
  deps: { pool: Pick<TrainingPool, "aggregate">; artifacts?: JobArtifactsDeps | undefined },
  record: JobRecord,
  tally: JobTally,
  log: Logger,
): Promise<JobRecord["metrics"] | undefined> {
  return deps.artifacts
    ? storeJobArtifacts(deps.artifacts, deps.pool, record, tally.outcomesByTask(), log)
    : aggregateMetrics(deps.pool, record, tally.outcomes(), log);
}

/** Tells the process's metrics and its log that the job ended, as its record says. */
export function announceEnd(
  pipeline: PipelineEvents,
  log: Logger,
  record: JobRecord,
  now: string,
): void {
  const created = Date.parse(record.created_at);
  const finished = Date.parse(record.finished_at ?? now);
  pipeline.emit({
    kind: "job_finished",
    job_id: record.job_id,
    model_type: record.model_type,
    status: record.status as "COMPLETED" | "FAILED" | "CANCELLED" | "TIMEOUT",
    duration_s: Math.max(0, finished - created) / 1000,
  });
  log.info({ status: record.status, error: record.error }, "job ended");
}
