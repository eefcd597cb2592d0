import type { ChunkTaskState } from "../contract/events.ts";
import type { ChunkRecord } from "./chunk-message.ts";
import type { DeliveryPlan } from "./chunk-plan.ts";
import type { TaskEnd } from "./worker-registry.ts";

type RunPlan = Extract<DeliveryPlan, { kind: "run" }>;

/**
 * What the standing record of a run says of each task the run planned (ran or gave up), as the
 * states its chunk event tells: its outcome, a retry after a failed attempt, or back in the queue
 * without an attempt spent.
 */
export function finishedStates(plan: RunPlan, record: ChunkRecord): ChunkTaskState[] {
  const states: ChunkTaskState[] = [];
  const retries = new Map(record.retry.map((retry) => [retry.task_index, retry]));
  for (const { task_index } of [...plan.run, ...plan.given_up]) {
    const outcome = record.outcomes[task_index];
    const retry = retries.get(task_index);
    if (outcome) {
      states.push({
        task_index,
        status: outcome.status,
        attempt: outcome.attempt,
        ...(outcome.error ? { error: outcome.error } : {}),
        ...(outcome.metrics
          ? { loss: outcome.metrics.loss, accuracy: outcome.metrics.accuracy }
          : {}),
      });
    } else if (retry?.error) {
      states.push({ task_index, status: "RETRYING", attempt: retry.attempts, error: retry.error });
    } else if (retry) {
      states.push({
        task_index,
        status: "QUEUED",
        attempt: retry.attempts,
        reason: record.isolate
          ? "handed back: its chunk's thread died"
          : "handed back: worker draining",
      });
    }
  }
  return states;
}

/** A task's end as its generation's record tells it (`unrecorded` when there is none). */
export function taskEnd(
  record: ChunkRecord | undefined,
  taskIndex: number,
  unrecorded: TaskEnd,
): TaskEnd {
  if (!record) return unrecorded;
  const outcome = record.outcomes[taskIndex];
  if (outcome) return outcome.status;
  const retry = record.retry.find((r) => r.task_index === taskIndex);
  return retry?.error ? "RETRYING" : "HANDED_BACK";
}
