import { TroupeError } from "../errors.ts";
import { type Faults, InjectedFault } from "../faults.ts";
import type { Logger } from "../log.ts";
import type { PipelineEvents } from "../pipeline-events.ts";
import { plannedEpochs } from "../training/limits.ts";
import type { TrainingPool } from "../training/pool.ts";
import type { ChunkResult } from "../training/types.ts";
import { isNatsUnavailable } from "../transport/nats-errors.ts";
import type { Bucket } from "../transport/ports.ts";
import { CheckpointSaver } from "./checkpoint-saver.ts";
import { type ChunkMessage, taskKey } from "./chunk-message.ts";
import type { DeliveryPlan, RunEnd } from "./chunk-plan.ts";
import type { ProgressCoalescer } from "./chunk-progress.ts";

type RunPlan = Extract<DeliveryPlan, { kind: "run" }>;

export interface ChunkTrainerOptions {
  pool: TrainingPool;
  checkpoints: Bucket;
  pipeline: PipelineEvents;
  taskTimeoutMs: number;
  faults: Faults;
  log: Logger;
  /** An uploaded data set's bytes for the pool (undefined for synthetic and built-in data). */
  dataOf?: ((spec: ChunkMessage["spec"]) => Promise<Uint8Array | undefined>) | undefined;
  /** The model.json an evaluate or predict task uses. */
  modelOf?: ((spec: ChunkMessage["spec"]) => Promise<string | undefined>) | undefined;
}

/**
 * A planned run of a chunk in the pool: resumed from the tasks' checkpoints, saving new ones,
 * reporting progress, and telling how it ended (results, or a thread that died under it).
 */
export class ChunkTrainer {
  readonly #o: ChunkTrainerOptions;

  constructor(options: ChunkTrainerOptions) {
    this.#o = options;
  }

  /**
   * Trains the planned tasks: one pool post for the chunk, or one each when a thread died under
   * several. Training errors are the tasks' own and come back as results; a dead thread is
   * reported as such; anything else (an injected fault, the pool closed) propagates.
   */
  async train(
    message: ChunkMessage,
    plan: RunPlan,
    run: { redelivered: boolean; signal: AbortSignal; progress: ProgressCoalescer },
  ): Promise<RunEnd> {
    const { signal, progress } = run;
    let data: Uint8Array | undefined;
    let model_json: string | undefined;
    try {
      data = await this.#o.dataOf?.(message.spec);
      model_json = await this.#o.modelOf?.(message.spec);
    } catch (error) {
      if (isNatsUnavailable(error)) throw error;
      // The data set is gone or changed since submit: each task fails, as a bad input would.
      const failure = { code: "TROUPE_ERR_TRAINING_FAILED", message: String(error) };
      return { kind: "results", results: plan.run.map(() => ({ ok: false, error: failure })) };
    }
    const checkpoints = await this.#checkpoints(message, plan, run.redelivered);
    const saver = new CheckpointSaver(this.#o.checkpoints, message.job_id, this.#o.log);
    const attempts = new Map(plan.run.map((task) => [task.task_index, task.attempt]));
    const options = {
      signal,
      taskTimeoutMs: this.#o.taskTimeoutMs,
      onProgress: (p: {
        task_index: number;
        epoch: number;
        epochs: number;
        loss: number;
        accuracy: number;
        heldout_loss: number;
        samples_per_s?: number;
      }) => {
        progress.add({
          task_index: p.task_index,
          status: "RUNNING",
          attempt: attempts.get(p.task_index) ?? 1,
          epoch: p.epoch,
          epochs: p.epochs,
          loss: p.loss,
          accuracy: p.accuracy,
          validation_loss: p.heldout_loss,
        });
        this.#o.pipeline.emit({
          kind: "task_progress",
          job_id: message.job_id,
          model_type: message.spec.model_type,
          ...pick(p),
        });
      },
      // A retry resumes after the last saved epoch (the pool sends none for the last epoch).
      onCheckpoint: (c: { task_index: number; bytes: Uint8Array }) =>
        saver.save(c.task_index, c.bytes),
    };
    const posts = plan.isolate ? plan.run.map((task) => [task]) : [plan.run];
    const results: ChunkResult = [];
    let stopped: "timeout" | "stopping" | undefined;
    for (const tasks of posts) {
      const crashThread = this.#o.faults.crashPoolThread();
      if (crashThread)
        this.#o.log.warn(
          { fault: "pool", job: message.job_id },
          "injected fault: a pool thread dies",
        );
      try {
        const run = await this.#o.pool.runChunk(
          {
            spec: message.spec,
            data,
            model_json,
            tasks: tasks.map((task) => {
              const checkpoint = checkpoints.get(task.task_index);
              return checkpoint
                ? { task_index: task.task_index, checkpoint }
                : { task_index: task.task_index };
            }),
          },
          { ...options, crashThread },
        );
        results.push(...run.results);
        run.results.forEach((result, i) => {
          // The last epoch's progress travels with the result: told once the task is done. A task
          // of one epoch has no progress to tell beyond its outcome, which carries its metrics.
          const task = tasks[i];
          const last = result.ok ? result.value.history.at(-1) : undefined;
          if (!task || !last || !result.ok || result.value.epochs < 2) return;
          options.onProgress({ task_index: task.task_index, ...last, epochs: result.value.epochs });
        });
        if (run.timedOut) stopped = "timeout";
        else if (signal.aborted) stopped = "stopping";
        if (run.results.length < tasks.length) break;
      } catch (error) {
        if (error instanceof InjectedFault || !(error instanceof TroupeError)) throw error;
        if (!/^TROUPE_ERR_TRAINING/.test(error.code)) throw error;
        if (signal.aborted) {
          stopped = "stopping";
          break;
        }
        if (!plan.isolate) {
          await saver.idle();
          return { kind: "thread-died", error: error.message };
        }
        // Isolated, a dead thread names its task: it spends an attempt, the others run on.
        results.push({
          ok: false,
          error: { code: error.code, message: `training thread died: ${error.message}` },
        });
      }
    }
    await saver.idle();
    return stopped ? { kind: "results", results, stopped } : { kind: "results", results };
  }

  /** Checkpoints saved by earlier deliveries of the planned tasks (a first delivery has none). */
  async #checkpoints(
    message: ChunkMessage,
    plan: RunPlan,
    redelivered: boolean,
  ): Promise<Map<number, Uint8Array>> {
    const found = new Map<number, Uint8Array>();
    if (!redelivered || plan.run.length === 0 || plannedEpochs(message.spec) < 2) {
      return found;
    }
    await Promise.all(
      plan.run.map(async ({ task_index }) => {
        const entry = await this.#o.checkpoints.get(taskKey(message.job_id, task_index));
        if (entry) found.set(task_index, entry.value);
      }),
    );
    return found;
  }
}

function pick(p: {
  task_index: number;
  epoch: number;
  loss: number;
  accuracy: number;
  samples_per_s?: number;
}) {
  const { task_index, epoch, loss, accuracy, samples_per_s } = p;
  return samples_per_s === undefined
    ? { task_index, epoch, loss, accuracy }
    : { task_index, epoch, loss, accuracy, samples_per_s };
}
