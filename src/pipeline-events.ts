import type { ModelType } from "./training/limits.ts";

/**
 * What this process's pipeline did, as it happens: the one feed for metrics and logs (observability
 * only; state lives in JetStream). Each process reports its own work, so Prometheus sums processes.
 */
export type PipelineEvent =
  | { kind: "job_started"; job_id: string; model_type: ModelType }
  | {
      kind: "job_finished";
      job_id: string;
      model_type: ModelType;
      status: "COMPLETED" | "FAILED" | "CANCELLED" | "TIMEOUT";
      /** From created_at to finished_at. */
      duration_s: number;
    }
  | {
      kind: "task_started";
      job_id: string;
      task_index: number;
      model_type: ModelType;
      attempt: number;
    }
  | {
      kind: "task_progress";
      job_id: string;
      task_index: number;
      model_type: ModelType;
      epoch: number;
      loss: number;
      accuracy: number;
      /** Training rows a second in this epoch (absent for a task's last epoch, told with its result). */
      samples_per_s?: number;
    }
  | {
      kind: "task_finished";
      job_id: string;
      task_index: number;
      model_type: ModelType;
      status: "COMPLETED" | "FAILED" | "CANCELLED" | "RETRYING";
      duration_s: number;
    }
  | { kind: "task_retried"; job_id: string; task_index: number; attempt: number }
  /** Sampled on every heartbeat. */
  | { kind: "queue_sampled"; queued: number; active_workers: number };

export type PipelineListener = (event: PipelineEvent) => void;

/** A tiny synchronous fan-out: listeners must be cheap and must not throw. */
export class PipelineEvents {
  readonly #listeners = new Set<PipelineListener>();

  on(listener: PipelineListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(event: PipelineEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}
