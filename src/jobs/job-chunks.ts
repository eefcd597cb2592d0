import type { QueuedChunk } from "../transport/ports.ts";
import { chunkKey, encodeChunk } from "../workers/chunk-message.ts";
import { chunksOf } from "./chunk-sizing.ts";
import { type JobSpec, trainingSpecOf } from "./job-spec.ts";

/**
 * A job's tasks as the chunks its actor queues: each carries the job's training spec (validated
 * at submit) and retry policy, and is keyed so that queueing it twice queues it once.
 */
export function queuedChunks(
  jobId: string,
  spec: JobSpec,
  size: number,
  resume?: { round: number; finished(taskIndex: number): boolean },
): QueuedChunk[] {
  const training = trainingSpecOf(spec);
  const chunks = chunksOf(spec.tasks, size).map((tasks, chunk) => ({ tasks, chunk }));
  // A resume queues again only the chunks with a task left, each under a new message id.
  const left = resume ? chunks.filter(({ tasks }) => !tasks.every(resume.finished)) : chunks;
  return left.map(({ tasks, chunk }) => ({
    id: resume ? `${chunkKey(jobId, chunk)}.r${resume.round}` : chunkKey(jobId, chunk),
    data: encodeChunk({
      ...(resume ? { resumed: resume.round } : {}),
      job_id: jobId,
      chunk,
      tasks,
      priority: spec.priority,
      user_id: spec.user_id,
      spec: training,
      max_attempts: spec.retry_policy.max_attempts,
      backoff_ms: spec.retry_policy.backoff_ms,
    }),
  }));
}
