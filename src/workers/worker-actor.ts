import type { Behavior } from "../actors/behavior.ts";
import type { PipelineEvents } from "../pipeline-events.ts";
import type { EventPublisher } from "../transport/events.ts";
import type { Delivery } from "../transport/lane-pull.ts";
import { isNatsUnavailable } from "../transport/nats-errors.ts";
import { decodeTask, retryDelayMs } from "./task-message.ts";
import type { TaskRunner } from "./task-runner.ts";

/** The one message a worker slot handles: run this delivered task. */
export interface RunTask {
  delivery: Delivery;
}

/**
 * A worker actor: one execution slot. It runs one task at a time through the TaskRunner. When it
 * crashes, the task it held goes back to the queue with a back-off, its failure counted (so the
 * retry is attempt + 1) — unless NATS failed it (unreachable, no answer in time, a JetStream
 * election): an outage is not the task's fault and spends none of its attempts, or a NATS node's
 * loss would fail tasks that met the election a few times. `postStop` aborts whatever it was
 * still running.
 */
export function workerActor(deps: {
  runner: TaskRunner;
  events: EventPublisher;
  pipeline: PipelineEvents;
}): Behavior<RunTask, void> {
  return () => {
    const stopping = new AbortController();
    return {
      receive: ({ delivery }) => deps.runner.run(delivery, stopping.signal),
      async preRestart(error, message) {
        if (!message) return;
        const task = decodeTask(message.delivery.data);
        const failure = error instanceof Error ? error.message : String(error);
        const delayMs = retryDelayMs(task.backoff_ms, 1);
        const event = {
          job_id: task.job_id,
          task_index: task.task_index,
          attempt: message.delivery.deliveryCount,
          worker_id: deps.runner.workerId,
        };
        if (isNatsUnavailable(error)) {
          // Counted as a hand-back where NATS answers, so the redelivery is not taken for a stall.
          await deps.runner.handBack(message.delivery, delayMs).catch(() => undefined);
          deps.events.task({
            ...event,
            status: "QUEUED",
            reason: `handed back: NATS unavailable (${failure})`,
          });
          return;
        }
        // The crash costs the task an attempt; without NATS to count it, the retry is free.
        await deps.runner.countFailure(message.delivery).catch(() => undefined);
        message.delivery.nak(delayMs);
        deps.events.task({ ...event, status: "RETRYING", error: `worker crashed: ${failure}` });
        deps.pipeline.emit({
          kind: "task_retried",
          job_id: task.job_id,
          task_index: task.task_index,
          attempt: message.delivery.deliveryCount,
        });
      },
      postStop() {
        stopping.abort();
      },
    };
  };
}
