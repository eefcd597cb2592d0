/**
 * The pool threads' entry: runs a training task, an aggregation or a no-op, streaming progress and
 * checkpoints over the task's MessagePort while it computes (the last epoch's progress returns
 * with the result). Never throws: errors return as data.
 */
import { TroupeError } from "../errors.ts";
import { abortCheckFor, TaskAborted } from "./abort.ts";
import { aggregate } from "./aggregate.ts";
import { Flag, type PortMessage, type ThreadReply, type ThreadRequest } from "./protocol.ts";
import { train } from "./train.ts";
import type { TrainingProgress } from "./types.ts";

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
        const { port } = request;
        const post = (message: PortMessage, transfer?: ArrayBuffer[]) => {
          port?.postMessage(message, transfer);
          posted++;
        };
        const value = train(request.input, {
          checkAbort,
          onProgress: (progress) => {
            if (progress.epoch === progress.epochs) last = progress;
            else post({ type: "progress", progress });
          },
          onCheckpoint: (checkpoint) =>
            post({ type: "checkpoint", checkpoint }, [checkpoint.bytes.buffer as ArrayBuffer]),
        });
        return { ok: true, value, posted, last };
      }
    }
  } catch (error) {
    return { ok: false, error: errorData(error), posted, last };
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
