import type { Behavior } from "../actors/behavior.ts";
import type { PipelineEvents } from "../pipeline-events.ts";
import type { EventPublisher } from "../transport/events.ts";
import type { Delivery } from "../transport/lane-pull.ts";
import { isNatsUnavailable } from "../transport/nats-errors.ts";
import { decodeChunk } from "./chunk-message.ts";
import type { ChunkRunner } from "./chunk-runner.ts";
import { RetryPolicy } from "./retry-policy.ts";

/** The one message a worker slot handles: run this delivered chunk of tasks. */
export interface RunTask {
  delivery: Delivery;
}

/**
 * A worker actor: one execution slot. It runs one chunk at a time through the ChunkRunner. When it
 * crashes, the chunk it held goes back to the queue with a back-off, its failure counted (so the
 * retry of each of its unrecorded tasks is attempt + 1) — unless NATS failed it (unreachable, no answer in time, a JetStream
 * election): an outage is not the task's fault and spends none of its attempts, or a NATS node's
 * loss would fail tasks that met the election a few times. `postStop` aborts whatever it was
 * still running.
 */
export function workerActor(deps: {
  runner: ChunkRunner;
  events: EventPublisher;
  pipeline: PipelineEvents;
}): Behavior<RunTask, void> {
  return () => {
    const stopping = new AbortController();
    return {
      receive: ({ delivery }) => deps.runner.run(delivery, stopping.signal),
      async preRestart(error, message) {
        if (!message) return;
        const chunk = decodeChunk(message.delivery.data);
        const failure = error instanceof Error ? error.message : String(error);
        const delayMs = RetryPolicy.of(chunk).backoff.delayMs(1);
        const attempt = message.delivery.deliveryCount;
        const announce = (state: { status: string; reason?: string; error?: string }) =>
          deps.runner.announce(
            chunk,
            chunk.tasks.map((task_index) => ({ task_index, attempt, ...state })),
          );
        if (isNatsUnavailable(error)) {
          // Counted as a hand-back where NATS answers, so the redelivery is not taken for a stall.
          await deps.runner.handBack(message.delivery, delayMs).catch(() => undefined);
          announce({ status: "QUEUED", reason: `handed back: NATS unavailable (${failure})` });
          return;
        }
        // The crash costs the tasks an attempt; without NATS to count it, the retry is free.
        await deps.runner.countFailure(message.delivery).catch(() => undefined);
        message.delivery.nak(delayMs);
        announce({ status: "RETRYING", error: `worker crashed: ${failure}` });
        for (const task_index of chunk.tasks) {
          deps.pipeline.emit({ kind: "task_retried", job_id: chunk.job_id, task_index, attempt });
        }
      },
      postStop() {
        stopping.abort();
      },
    };
  };
}
