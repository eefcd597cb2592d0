/**
 * The main thread's side of a CSV check: the bytes go to a pool thread over a MessagePort in
 * batches as they arrive, at most WINDOW batches unread, so a slow check slows the upload instead
 * of buffering it.
 */
import { MessageChannel, type MessagePort } from "node:worker_threads";
import type { CsvSummary } from "../contract/datasets.ts";
import { DatasetInvalidError, TroupeError } from "../errors.ts";
import type { ScanMessage, ThreadReply } from "./protocol.ts";

/** Bytes gathered into one message: a message per network read cost more than the check. */
const BATCH_BYTES = 256 * 1024;
/**
 * Batches sent and not yet read by the thread (16 MiB). The check and the store run side by side
 * at about the same speed; on a loaded machine either one stops for tens of milliseconds at a
 * time, and a smaller window made the other wait each time instead of going on.
 */
const WINDOW = 64;

export interface CsvScanner {
  /** Sends a chunk; resolves once the thread has room for more. Rejects once the file is refused. */
  write(chunk: Uint8Array): Promise<void>;
  /** The file is complete: its summary, or DatasetInvalidError naming what is wrong. */
  end(): Promise<CsvSummary>;
  /** Stops the scan (the upload was refused for another reason). */
  stop(): void;
}

export function startCsvScan(run: (port: MessagePort) => Promise<ThreadReply>): CsvScanner {
  const channel = new MessageChannel();
  let unread = 0;
  let room: (() => void) | undefined;
  channel.port1.on("message", () => {
    unread--;
    room?.();
  });
  const reply = run(channel.port2).then(
    (answer): CsvSummary => {
      if (answer.ok) return answer.value as CsvSummary;
      throw new DatasetInvalidError(answer.error.message);
    },
    (error: unknown) => {
      throw error instanceof TroupeError ? error : new DatasetInvalidError(String(error));
    },
  );
  // A refusal before the end is seen by the next write; the end reads it again.
  reply.catch(() => undefined);
  const finished = reply.then(
    () => undefined,
    () => undefined,
  );
  const send = (message: ScanMessage, transfer?: ArrayBuffer[]) => {
    channel.port1.postMessage(message, transfer);
  };
  // Copied into a batch the thread will own (a Buffer's slice would share memory, and moving it
  // would empty the caller's chunk, which goes on to be stored).
  let batch = new Uint8Array(BATCH_BYTES);
  let filled = 0;
  const sendBatch = () => {
    const full = batch.subarray(0, filled);
    send({ chunk: full }, [full.buffer as ArrayBuffer]);
    unread++;
    batch = new Uint8Array(BATCH_BYTES);
    filled = 0;
  };
  return {
    async write(chunk) {
      for (let at = 0; at < chunk.byteLength; ) {
        const taken = Math.min(BATCH_BYTES - filled, chunk.byteLength - at);
        batch.set(chunk.subarray(at, at + taken), filled);
        filled += taken;
        at += taken;
        if (filled < BATCH_BYTES) continue;
        sendBatch();
        while (unread >= WINDOW) {
          await Promise.race([
            new Promise<void>((resolve) => {
              room = resolve;
            }),
            finished,
          ]);
          if (unread >= WINDOW) await reply; // the thread ended early: its answer says why
        }
      }
    },
    async end() {
      if (filled > 0) sendBatch();
      send({ end: true });
      try {
        return await reply;
      } finally {
        channel.port1.close();
      }
    },
    stop() {
      send({ stop: true });
      channel.port1.close();
    },
  };
}
