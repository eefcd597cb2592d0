/**
 * The pool threads' entry: runs a training task, a chunk of tasks, an aggregation or a no-op,
 * streaming progress and checkpoints over the task's MessagePort while it computes (the last
 * epoch's progress returns with the result). Never throws: errors return as data.
 */
import { TroupeError } from "../errors.ts";
import { abortCheckFor, TaskAborted } from "./abort.ts";
import { aggregate } from "./aggregate.ts";
import { Flag, type PortMessage, type ThreadReply, type ThreadRequest } from "./protocol.ts";
import { train } from "./train.ts";
import type { ChunkInput, ChunkResult, TrainingCheckpoint, TrainingProgress } from "./types.ts";

export default function runTask(request: ThreadRequest): ThreadReply {
  Atomics.store(request.flags, Flag.started, 1);
  const checkAbort = abortCheckFor(request.flags);
  let posted = 0;
  let last: TrainingProgress | undefined;
  try {
    switch (request.kind) {
      case "noop":
        return { ok: true, value: undefined, posted };
      case "aggregate":
        checkAbort();
        return { ok: true, value: aggregate(request.input), posted };
      case "train": {
        // Test-only (TROUPE_FAULTS pool): the thread dies mid-task, as a native crash would.
        if (request.crash) process.exit(1);
        const value = train(
          request.input,
          hooks((progress) => (last = progress)),
        );
        return { ok: true, value, posted, last };
      }
      case "chunk": {
        if (request.crash) process.exit(1);
        return { ok: true, value: runChunk(request.input), posted };
      }
    }
  } catch (error) {
    return { ok: false, error: errorData(error), posted, last };
  }

  /** Progress and checkpoints over the port, but the last epoch's progress goes to `onLast`. */
  function hooks(onLast: (progress: TrainingProgress) => void) {
    const port = request.kind === "train" || request.kind === "chunk" ? request.port : undefined;
    const post = (message: PortMessage, transfer?: ArrayBuffer[]) => {
      port?.postMessage(message, transfer);
      posted++;
    };
    return {
      checkAbort,
      onProgress: (progress: TrainingProgress) => {
        if (progress.epoch === progress.epochs) onLast(progress);
        else post({ type: "progress", progress });
      },
      onCheckpoint: (checkpoint: TrainingCheckpoint) =>
        post({ type: "checkpoint", checkpoint }, [checkpoint.bytes.buffer as ArrayBuffer]),
    };
  }

  /**
   * The chunk's tasks in order, each on its own shard with the job's shared held-out split. A
   * task's failure is its own (the next one runs); an abort ends the chunk at the task it hit.
   */
  function runChunk({ spec, tasks }: ChunkInput): ChunkResult {
    const results: ChunkResult = [];
    // The last epoch's progress is in each result (metrics and history): no message for it.
    const taskHooks = hooks(() => undefined);
    for (const [position, task] of tasks.entries()) {
      Atomics.store(request.flags, Flag.position, position + 1);
      try {
        checkAbort();
        results.push({ ok: true, value: train({ ...spec, ...task }, taskHooks) });
      } catch (error) {
        results.push({ ok: false, error: errorData(error) });
        if (error instanceof TaskAborted) break;
      }
    }
    return results;
  }
}

function errorData(error: unknown) {
  if (error instanceof TaskAborted) {
    return { code: "TROUPE_ERR_TRAINING_ABORTED", message: "training task aborted" };
  }
  if (error instanceof TroupeError) return error.toJSON();
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { code: "TROUPE_ERR_TRAINING_FAILED", message };
}
