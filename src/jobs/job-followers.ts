import type { TaskPorts } from "../transport/ports.ts";
import type { JobMessage } from "./job-actor.ts";

/**
 * Follows a job for its actor: its chunk records as their writers announce them, and its tasks'
 * state changes (per-epoch progress does not change the job's bookkeeping). What is missed while
 * the line is down, the actor's reconcile finds: at start for a job already queued, after every
 * gap, and every few ticks. Returns the way to stop following.
 */
export function followJob(
  ports: Pick<TaskPorts, "results" | "taskEvents">,
  jobId: string,
  tell: (message: JobMessage) => void,
): () => void {
  const stops = [
    ports.results.follow(
      jobId,
      (chunk, generation, record) => tell({ kind: "recorded", chunk, generation, record }),
      () => tell({ kind: "reconcile" }),
    ),
    ports.taskEvents.follow(jobId, (events) => {
      const changes = events.filter((task) => task.epoch === undefined);
      if (changes.length > 0) tell({ kind: "task-events", events: changes });
    }),
  ];
  return () => {
    for (const stop of stops) stop();
  };
}
