import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { PipelineEvents } from "../pipeline-events.ts";

export interface QueueSamplerOptions {
  /** Tasks waiting in all lanes, cluster-wide. */
  queuedTasks(): Promise<number>;
  /** Workers (processes) that are not stale. */
  activeWorkers(): Promise<number>;
  pipeline: PipelineEvents;
  everyMs: number;
  clock: Clock;
  log: Logger;
}

/**
 * Samples the cluster's queue and registry for the `orchestrator_tasks_queued` and
 * `orchestrator_active_workers` gauges, one sample at a time: a sample that NATS does not answer
 * is skipped (the gauges keep their last values) and the next one is taken on schedule.
 */
export class QueueSampler {
  readonly #o: QueueSamplerOptions;
  #cancel: (() => void) | undefined;
  #stopped = false;

  constructor(options: QueueSamplerOptions) {
    this.#o = options;
  }

  start(): void {
    if (this.#cancel || this.#stopped) return;
    this.#schedule(0);
  }

  stop(): void {
    this.#stopped = true;
    this.#cancel?.();
  }

  /** Takes one sample now. */
  async sample(): Promise<void> {
    const [queued, active_workers] = await Promise.all([
      this.#o.queuedTasks(),
      this.#o.activeWorkers(),
    ]);
    this.#o.pipeline.emit({ kind: "queue_sampled", queued, active_workers });
  }

  #schedule(ms: number): void {
    this.#cancel = this.#o.clock.schedule(() => {
      this.sample()
        .catch((error) => this.#o.log.debug({ err: error }, "queue sample skipped"))
        .finally(() => {
          if (!this.#stopped) this.#schedule(this.#o.everyMs);
        });
    }, ms);
  }
}
