/**
 * The main thread's side of a CSV check: chunks go to a pool thread over a MessagePort as they
 * arrive, at most WINDOW of them unread, so a slow parse slows the upload instead of buffering it.
 */
import { MessageChannel, type MessagePort } from "node:worker_threads";
import type { CsvSummary } from "../contract/datasets.ts";
import { DatasetInvalidError, TroupeError } from "../errors.ts";
import type { ScanMessage, ThreadReply } from "./protocol.ts";

/** Chunks sent and not yet read by the thread. */
const WINDOW = 16;

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
  return {
    async write(chunk) {
      // A copy the thread owns (a Buffer's slice would share, and moving it would empty the
      // caller's chunk, which goes on to be stored).
      const copy = new Uint8Array(chunk);
      send({ chunk: copy }, [copy.buffer as ArrayBuffer]);
      unread++;
      while (unread >= WINDOW) {
        await Promise.race([
          new Promise<void>((resolve) => {
            room = resolve;
          }),
          finished,
        ]);
        if (unread >= WINDOW) await reply; // the thread ended early: its answer says why
      }
    },
    async end() {
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
