/** Messages between `pool.ts` (main thread) and `task.ts` (pool thread). */
import type { MessagePort } from "node:worker_threads";
import type { ErrorData } from "../errors.ts";
import type {
  AggregateInput,
  ChunkInput,
  PredictInput,
  ResolvedTaskInput,
  TrainingCheckpoint,
  TrainingProgress,
} from "./types.ts";

/** Slots of the `Int32Array` shared between the main thread and the task's thread. */
export const Flag = Object.freeze({
  /** Set by the main thread: stop at the next check. */
  abort: 0,
  /** Set by the thread when it picks the task up (so a queued task can be dropped, not killed). */
  started: 1,
  /** Set by the thread as it starts each task of a chunk: 1 + the task's position in the chunk. */
  position: 2,
});

/** Int32 slots of the shared flags (see `Flag`). */
export const FLAG_SLOTS = 3;

/**
 * `port` (training tasks, or chunks, of more than one epoch) carries progress and checkpoints back as they
 * happen; `flags` see `Flag`. `crash` is test-only fault injection (TROUPE_FAULTS `pool`): the
 * thread exits instead of training.
 */
export type ThreadRequest = { flags: Int32Array } & (
  | { kind: "train"; input: ResolvedTaskInput; port?: MessagePort; crash?: true }
  | { kind: "chunk"; input: ChunkInput; port?: MessagePort; crash?: true }
  | { kind: "aggregate"; input: AggregateInput }
  | { kind: "predict"; input: PredictInput }
  /** Checks a CSV whose chunks arrive over `port` (ScanMessage), each acknowledged once read. */
  | { kind: "scan"; port: MessagePort }
  | { kind: "noop" }
);

/** To a scanning thread: a chunk of the file, its end, or "stop" (the upload was refused). */
export type ScanMessage = { chunk: Uint8Array } | { end: true } | { stop: true };

/**
 * Errors cross threads as data: structured clone loses classes (STYLE 6). `posted` counts the
 * port messages sent: the port and the reply travel separately, so the main thread settles the
 * task only once all of them arrived. `last` is the last epoch's progress, which travels with the
 * reply: a task of one epoch needs no port at all.
 */
export type ThreadReply = { posted: number; last?: TrainingProgress } & (
  | { ok: true; value: unknown }
  | { ok: false; error: ErrorData }
);

export type PortMessage =
  | { type: "progress"; progress: TrainingProgress }
  | { type: "checkpoint"; checkpoint: TrainingCheckpoint };
