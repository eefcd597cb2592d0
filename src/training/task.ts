/**
 * The pool threads' entry: runs a training task, a chunk of tasks, an aggregation or a no-op,
 * streaming progress and checkpoints over the task's MessagePort while it computes (the last
 * epoch's progress returns with the result). Never throws: errors return as data.
 */
import type { MessagePort } from "node:worker_threads";
import { TroupeError } from "../errors.ts";
import { abortCheckFor, TaskAborted } from "./abort.ts";
import { aggregate } from "./aggregate.ts";
import { CsvError, scanCsv } from "./csv-scan.ts";
import { infer } from "./inference.ts";
import { predictRows } from "./predict.ts";
import {
  Flag,
  type PortMessage,
  type ScanMessage,
  type ThreadReply,
  type ThreadRequest,
} from "./protocol.ts";
import { loadTable } from "./tables.ts";
import { train } from "./train.ts";
import type { ChunkInput, ChunkResult, TrainingCheckpoint, TrainingProgress } from "./types.ts";

export default function runTask(request: ThreadRequest): ThreadReply | Promise<ThreadReply> {
  Atomics.store(request.flags, Flag.started, 1);
  if (request.kind === "scan") return scan(request.port);
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
      case "predict":
        return { ok: true, value: predictRows(request.input), posted };
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
  function runChunk({ spec, tasks, data, model_json }: ChunkInput): ChunkResult {
    const results: ChunkResult = [];
    if (spec.task_type) {
      for (const task of tasks) {
        try {
          checkAbort();
          results.push({ ok: true, value: infer(spec, task.task_index, data, model_json) });
        } catch (error) {
          results.push({ ok: false, error: errorData(error) });
          if (error instanceof TaskAborted) break;
        }
      }
      return results;
    }
    // An uploaded data set is parsed once per thread, its bytes shared, not copied, per task.
    const { content_hash: hash, target_column: target } = spec.dataset;
    if (data && hash) loadTable(hash, data, { target });
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

/** Scans the CSV arriving over `port`, acknowledging each chunk once the parser has taken it. */
async function scan(port: MessagePort): Promise<ThreadReply> {
  const queue: ScanMessage[] = [];
  let wake: (() => void) | undefined;
  port.on("message", (message: ScanMessage) => {
    queue.push(message);
    wake?.();
  });
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const message = queue.shift();
      if (!message) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        continue;
      }
      if ("end" in message) return;
      if ("stop" in message) throw new CsvError("the upload was stopped");
      yield message.chunk;
      port.postMessage("ack");
    }
  }
  try {
    return { ok: true, value: await scanCsv(chunks()), posted: 0 };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, error: { code: "TROUPE_ERR_DATASET_INVALID", message }, posted: 0 };
  } finally {
    port.close();
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
