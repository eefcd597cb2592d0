import type { QueuedChunk } from "../transport/ports.ts";
import { chunkKey, encodeChunk } from "../workers/chunk-message.ts";
import { chunksOf } from "./chunk-sizing.ts";
import { type JobSpec, trainingSpecOf } from "./job-spec.ts";

/**
 * A job's tasks as the chunks its actor queues: each carries the job's training spec (validated
 * at submit) and retry policy, and is keyed so that queueing it twice queues it once.
 */
export function queuedChunks(jobId: string, spec: JobSpec, size: number): QueuedChunk[] {
  const training = trainingSpecOf(spec);
  return chunksOf(spec.tasks, size).map((tasks, chunk) => ({
    id: chunkKey(jobId, chunk),
    data: encodeChunk({
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
