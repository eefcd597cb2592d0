/**
 * The training pool: piscina worker threads that train, aggregate and report back. The main thread
 * only validates and routes (DESIGN principle 5): progress and checkpoints arrive over a
 * MessageChannel per task as they happen (the last epoch's progress with the result, so a task of
 * one epoch needs no channel); cancellation flips a shared flag the thread polls
 * between mini-batches and tree nodes, and a thread that does not stop within `abortGraceMs` is
 * terminated (piscina replaces it).
 */
import { availableParallelism } from "node:os";
import { MessageChannel } from "node:worker_threads";
import { Piscina } from "piscina";
import {
  CheckpointError,
  type ErrorData,
  PoolUnavailableError,
  TrainingAbortedError,
  TrainingError,
  TroupeError,
} from "../errors.ts";
import { checkAggregateInput } from "./aggregate-input.ts";
import { type CsvScanner, startCsvScan } from "./csv-scanner.ts";
import type { DatasetSpec } from "./hyperparameters.ts";
import { plannedEpochs } from "./limits.ts";
import {
  FLAG_SLOTS,
  Flag,
  type PortMessage,
  type ThreadReply,
  type ThreadRequest,
} from "./protocol.ts";
import { resolveTaskInput } from "./training-spec.ts";
import type {
  AggregateInput,
  AggregateResult,
  ChunkInput,
  ChunkResult,
  PredictInput,
  PredictResult,
  ResolvedTaskInput,
  TaskInput,
  TaskResult,
  TrainingCheckpoint,
  TrainingProgress,
} from "./types.ts";

export interface TrainingPoolOptions {
  /**
   * Worker threads, created up front and kept.
   * @default os.availableParallelism() — training is CPU-bound: one thread a core.
   */
  threads?: number;
  /**
   * Tasks waiting for a thread before `run` rejects with `TROUPE_ERR_POOL_UNAVAILABLE`.
   * @default 1000 — the worker actors bound in-flight tasks; this only stops a runaway caller.
   */
  maxQueue?: number;
  /**
   * After an abort, how long a busy thread has to stop cooperatively before it is terminated.
   * @default 1000 — the cooperative check runs every mini-batch, far more often than this.
   */
  abortGraceMs?: number;
  /**
   * How long a graceful `close()` waits for running tasks before terminating the threads.
   * @default 30000
   */
  closeTimeoutMs?: number;
}

const DEFAULTS = Object.freeze({ maxQueue: 1000, abortGraceMs: 1000, closeTimeoutMs: 30_000 });

export interface RunOptions {
  /** Cancels the task: it stops between mini-batches and rejects with `TrainingAbortedError`. */
  signal?: AbortSignal;
  /** Called on the main thread after every epoch. A throw aborts the task and rejects `run`. */
  onProgress?(progress: TrainingProgress): void;
  /** Called after every epoch but the last with bytes that resume the task at the next epoch. */
  onCheckpoint?(checkpoint: TrainingCheckpoint): void;
  /** Test-only fault injection (TROUPE_FAULTS `pool`): the thread exits instead of training. */
  crashThread?: boolean;
}

export interface ChunkRunOptions extends RunOptions {
  /**
   * A task of the chunk running longer than this is aborted: the chunk ends there, with
   * `timedOut` set. It is noticed within one to two of these (chunks are checked at that pace).
   */
  taskTimeoutMs?: number;
}

/** A chunk's per-task results (see `ChunkResult`), and whether its last task timed out. */
export interface ChunkRun {
  results: ChunkResult;
  timedOut: boolean;
}

export interface TrainingPool {
  readonly threads: number;
  /** Trains one task (validated first: `TrainingSpecError` names the field at fault). */
  run(input: TaskInput, options?: RunOptions): Promise<TaskResult>;
  /**
   * Trains a chunk of one job's tasks in one thread, one after the other, in one post. The spec
   * is taken as validated (it was, at submit). A dead or terminated thread rejects the whole run.
   */
  runChunk(input: ChunkInput, options?: ChunkRunOptions): Promise<ChunkRun>;
  /** Combines a job's task models and evaluates the result on the shared held-out split. */
  aggregate(input: AggregateInput, options?: { signal?: AbortSignal }): Promise<AggregateResult>;
  /** Predicts rows with a model.json (small inputs: the predict route). */
  predict(input: PredictInput): Promise<PredictResult>;
  /** Starts checking a CSV file in a thread, fed chunk by chunk as it arrives. */
  scanCsv(): CsvScanner;
  /**
   * A task that does nothing, dispatched like `run` (shared flags, piscina round trip) minus the
   * progress channel: measures the pool's overhead per task.
   */
  noop(): Promise<void>;
  /** Stops intake, lets running tasks finish (or aborts them with `force`), ends the threads. */
  close(options?: { force?: boolean }): Promise<void>;
  /** Resolves once closed, with the error the close met, if any. Never rejects. */
  closed(): Promise<Error | undefined>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Creates the pool; its threads start loading at once. */
export function createTrainingPool(options: TrainingPoolOptions = {}): TrainingPool {
  return new PiscinaTrainingPool(options);
}

/** From source (vitest, tsx) the threads need the TypeScript bootstrap; a build has `task.js`. */
export function workerFilename(moduleUrl: string = import.meta.url): string {
  return moduleUrl.endsWith(".ts")
    ? new URL("./task-bootstrap.mjs", moduleUrl).href
    : new URL("./task.js", moduleUrl).href;
}

function checkOption(name: string, value: number | undefined, min: number, integer: boolean) {
  if (value === undefined) return;
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new RangeError(
      `TrainingPoolOptions.${name} must be ${integer ? "an integer" : "a number"} >= ${min}`,
    );
  }
}

class PiscinaTrainingPool implements TrainingPool {
  readonly threads: number;
  readonly #piscina: Piscina<ThreadRequest, ThreadReply>;
  readonly #abortGraceMs: number;
  readonly #inflight = new Set<() => void>();
  #closing: Promise<void> | undefined;
  #closeError: Error | undefined;
  #poolError: Error | undefined;
  #resolveClosed!: (error: Error | undefined) => void;
  readonly #closed = new Promise<Error | undefined>((resolve) => {
    this.#resolveClosed = resolve;
  });

  constructor(options: TrainingPoolOptions) {
    checkOption("threads", options.threads, 1, true);
    checkOption("maxQueue", options.maxQueue, 0, true);
    checkOption("abortGraceMs", options.abortGraceMs, 0, false);
    checkOption("closeTimeoutMs", options.closeTimeoutMs, 0, false);
    this.threads = options.threads ?? availableParallelism();
    this.#abortGraceMs = options.abortGraceMs ?? DEFAULTS.abortGraceMs;
    this.#piscina = new Piscina<ThreadRequest, ThreadReply>({
      filename: workerFilename(),
      minThreads: this.threads,
      maxThreads: this.threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      maxQueue: options.maxQueue ?? DEFAULTS.maxQueue,
      closeTimeout: options.closeTimeoutMs ?? DEFAULTS.closeTimeoutMs,
    });
    // A thread that fails to start is reported here; the task it held rejects on its own.
    this.#piscina.on("error", (error: Error) => {
      this.#poolError ??= error;
    });
  }

  run(input: TaskInput, options: RunOptions = {}): Promise<TaskResult> {
    let resolved: ReturnType<typeof resolveTaskInput>;
    try {
      resolved = resolveTaskInput(input);
    } catch (error) {
      return Promise.reject(error);
    }
    const request = options.crashThread
      ? { kind: "train" as const, input: resolved, crash: true as const }
      : { kind: "train" as const, input: resolved };
    return this.#dispatch(request, options) as Promise<TaskResult>;
  }

  async runChunk(input: ChunkInput, options: ChunkRunOptions = {}): Promise<ChunkRun> {
    const request = options.crashThread
      ? { kind: "chunk" as const, input, crash: true as const }
      : { kind: "chunk" as const, input };
    let timedOut = false;
    const results = (await this.#dispatch(request, options, () => {
      timedOut = true;
    })) as ChunkResult;
    return { results, timedOut };
  }

  aggregate(input: AggregateInput, options: { signal?: AbortSignal } = {}) {
    let dataset: DatasetSpec;
    try {
      dataset = checkAggregateInput(input);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#dispatch(
      { kind: "aggregate", input: { ...input, dataset } },
      options,
    ) as Promise<AggregateResult>;
  }

  predict(input: PredictInput): Promise<PredictResult> {
    return this.#dispatch({ kind: "predict", input }, {}) as Promise<PredictResult>;
  }

  scanCsv(): CsvScanner {
    return startCsvScan(async (port) => {
      if (this.#closing) throw new PoolUnavailableError("the training pool is closed");
      const flags = new Int32Array(new SharedArrayBuffer(FLAG_SLOTS * 4));
      return this.#piscina.run({ kind: "scan", port, flags }, { transferList: [port] });
    });
  }

  async noop(): Promise<void> {
    await this.#dispatch({ kind: "noop" }, {});
  }

  async #dispatch(
    request:
      | { kind: "train"; input: ResolvedTaskInput; crash?: true }
      | { kind: "chunk"; input: ChunkInput; crash?: true }
      | { kind: "aggregate"; input: AggregateInput }
      | { kind: "predict"; input: PredictInput }
      | { kind: "noop" },
    options: ChunkRunOptions,
    onTimeout?: () => void,
  ): Promise<unknown> {
    if (this.#closing) throw new PoolUnavailableError("the training pool is closed");
    const { signal } = options;
    if (signal?.aborted) throw new TrainingAbortedError("aborted before it started");
    const flags = new Int32Array(new SharedArrayBuffer(FLAG_SLOTS * 4));
    const kill = new AbortController();
    let graceTimer: NodeJS.Timeout | undefined;
    let callbackError: unknown;
    const abort = () => {
      Atomics.store(flags, Flag.abort, 1);
      // A queued task is dropped; a running one gets a grace period to stop by itself.
      if (Atomics.load(flags, Flag.started) === 0) kill.abort();
      else graceTimer ??= setTimeout(() => kill.abort(), this.#abortGraceMs);
    };
    const watchdog =
      onTimeout && options.taskTimeoutMs !== undefined
        ? this.#watchTasks(flags, options.taskTimeoutMs, () => {
            onTimeout();
            abort();
          })
        : undefined;
    // A port per task is a large part of a tiny task's cost: only tasks of several epochs get one.
    const channel =
      (request.kind === "train" && plannedEpochs(request.input) > 1) ||
      (request.kind === "chunk" && plannedEpochs(request.input.spec) > 1)
        ? new MessageChannel()
        : undefined;
    let received = 0;
    let expected = Number.POSITIVE_INFINITY;
    let delivered!: () => void;
    const allDelivered = new Promise<void>((resolve) => {
      delivered = resolve;
    });
    channel?.port1.on("message", (message: PortMessage) => {
      received++;
      try {
        if (message.type === "progress") options.onProgress?.(message.progress);
        else options.onCheckpoint?.(message.checkpoint);
      } catch (error) {
        callbackError ??= error;
        abort();
      }
      if (received >= expected) delivered();
    });
    signal?.addEventListener("abort", abort, { once: true });
    this.#inflight.add(abort);
    try {
      const message = channel ? { ...request, port: channel.port2, flags } : { ...request, flags };
      const reply = await this.#piscina.run(message as ThreadRequest, {
        transferList: channel ? [channel.port2] : [],
        signal: kill.signal,
      });
      expected = reply.posted;
      if (received < expected) await allDelivered;
      if (callbackError === undefined && reply.last) {
        try {
          options.onProgress?.(reply.last);
        } catch (error) {
          callbackError = error;
        }
      }
      if (callbackError !== undefined) throw callbackError;
      if (reply.ok) return reply.value;
      throw errorFromData(reply.error);
    } catch (error) {
      if (callbackError !== undefined) throw callbackError;
      if (error instanceof TroupeError) throw error;
      if (kill.signal.aborted) {
        throw new TrainingAbortedError("training task aborted (thread terminated)", {
          cause: error,
        });
      }
      const message = error instanceof Error ? error.message : String(error);
      if (/queue is at limit/i.test(message)) {
        throw new PoolUnavailableError("the training pool's queue is full");
      }
      throw new TrainingError(`training thread failed: ${message}`, { cause: error });
    } finally {
      clearTimeout(graceTimer);
      if (watchdog) clearTimeout(watchdog.timer);
      signal?.removeEventListener("abort", abort);
      this.#inflight.delete(abort);
      channel?.port1.close();
    }
  }

  /**
   * Fires `onTimeout` once the chunk's thread has been on the same task (its position flag) for a
   * whole `timeoutMs`: one timer per chunk, not one per task. The first task's time counts from
   * the dispatch; time spent queued for a thread is not held against a later one.
   */
  #watchTasks(flags: Int32Array, timeoutMs: number, onTimeout: () => void) {
    const watchdog = { timer: undefined as NodeJS.Timeout | undefined };
    let seen = 1;
    const check = () => {
      const position = Atomics.load(flags, Flag.position);
      if (position === seen && Atomics.load(flags, Flag.started) === 1) {
        onTimeout();
        return;
      }
      seen = position;
      watchdog.timer = setTimeout(check, timeoutMs);
    };
    watchdog.timer = setTimeout(check, timeoutMs);
    return watchdog;
  }

  close(options: { force?: boolean } = {}): Promise<void> {
    this.#closing ??= this.#shutdown(options.force === true);
    return this.#closing;
  }

  async #shutdown(force: boolean): Promise<void> {
    if (force) for (const abort of this.#inflight) abort();
    try {
      await this.#piscina.close({ force });
    } catch (error) {
      this.#closeError = error instanceof Error ? error : new Error(String(error));
    }
    this.#resolveClosed(this.#closeError ?? this.#poolError);
  }

  closed(): Promise<Error | undefined> {
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function errorFromData(error: ErrorData): TroupeError {
  switch (error.code) {
    case "TROUPE_ERR_TRAINING_ABORTED":
      return new TrainingAbortedError(error.message);
    case "TROUPE_ERR_CHECKPOINT_INVALID":
      return new CheckpointError(error.message);
    default:
      return new TrainingError(error.message);
  }
}
