/**
 * Drives BullMQ the way bench/lib/troupe-load.ts drives Troupe: batches of jobs added with
 * `addBulk`, at most a window of them not yet completed, completions seen through `QueueEvents`
 * (BullMQ's documented way for a producer to learn a job completed).
 */
import { createConnection } from "node:net";
import { Queue, QueueEvents } from "bullmq";

const STALL_MS = 60_000;

export interface RedisOptions {
  host: string;
  port: number;
  password?: string;
  db?: number;
  /** BullMQ workers need blocking commands to wait forever. */
  maxRetriesPerRequest: null;
}

/** ioredis options from REDIS_URL (`redis://[:password@]host:port[/db]`), default 127.0.0.1:6379. */
export function redisConnection(url = "redis://127.0.0.1:6379"): RedisOptions {
  const parsed = new URL(url.includes("://") ? url : `redis://${url}`);
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : undefined;
  return {
    host: parsed.hostname || "127.0.0.1",
    port: Number(parsed.port || 6379),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(db !== undefined ? { db } : {}),
    maxRetriesPerRequest: null,
  };
}

/** True if something answers PING with PONG at `options` within a second. */
export function redisAnswers(options: RedisOptions): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: options.host, port: options.port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 1_000);
    socket.once("error", () => done(false));
    socket.once("connect", () => {
      const auth = options.password ? `AUTH ${options.password}\r\n` : "";
      socket.write(`${auth}PING\r\n`);
    });
    socket.on("data", (chunk) => {
      if (chunk.toString().includes("PONG")) done(true);
      else if (chunk.toString().startsWith("-")) done(false);
    });
  });
}

export interface BullLoad {
  /** Each batch's job data, added with one `addBulk`. */
  batches: readonly unknown[][];
  windowJobs: number;
}

export interface BullLoadResult {
  tasks: number;
  seconds: number;
  perSecond: number;
  /** Per job: ms from its batch's `addBulk` call to its `completed` event. */
  completionMs: number[];
}

/** One queue (and its events reader) for a run; `close()` obliterates the queue's keys. */
export class BullQueue {
  readonly queue: Queue;
  readonly events: QueueEvents;

  constructor(name: string, prefix: string, connection: RedisOptions) {
    this.queue = new Queue(name, { connection, prefix });
    this.events = new QueueEvents(name, { connection, prefix });
  }

  async ready(): Promise<void> {
    await Promise.all([this.queue.waitUntilReady(), this.events.waitUntilReady()]);
  }

  async run(load: BullLoad): Promise<BullLoadResult> {
    const total = load.batches.reduce((sum, b) => sum + b.length, 0);
    const addedAt = new Map<string, number>();
    const early = new Map<string, number>();
    const completionMs: number[] = [];
    let completed = 0;
    let outstanding = 0;
    let lastProgress = performance.now();
    let wake: (() => void) | undefined;
    const onCompleted = ({ jobId }: { jobId: string }) => {
      const at = performance.now();
      const sent = addedAt.get(jobId);
      if (sent === undefined) {
        early.set(jobId, at);
        return;
      }
      addedAt.delete(jobId);
      completionMs.push(at - sent);
      completed += 1;
      outstanding -= 1;
      lastProgress = at;
      wake?.();
    };
    const onFailed = ({ jobId, failedReason }: { jobId: string; failedReason: string }) => {
      console.error(`BullMQ job ${jobId} failed: ${failedReason}`);
    };
    this.events.on("completed", onCompleted);
    this.events.on("failed", onFailed);
    const began = performance.now();
    try {
      for (const batch of load.batches) {
        while (outstanding > 0 && outstanding + batch.length > load.windowJobs) {
          await waitForProgress();
        }
        outstanding += batch.length;
        const sent = performance.now();
        const jobs = await this.queue.addBulk(batch.map((data) => ({ name: "task", data })));
        for (const job of jobs) {
          const id = job.id as string;
          addedAt.set(id, sent);
          const at = early.get(id);
          if (at !== undefined) {
            early.delete(id);
            addedAt.set(id, sent);
            onCompleted({ jobId: id });
            completionMs[completionMs.length - 1] = at - sent;
          }
        }
      }
      while (completed < total) await waitForProgress();
    } finally {
      this.events.off("completed", onCompleted);
      this.events.off("failed", onFailed);
    }
    const seconds = (performance.now() - began) / 1000;
    return { tasks: total, seconds, perSecond: total / seconds, completionMs };

    function waitForProgress(): Promise<void> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          wake = undefined;
          if (performance.now() - lastProgress >= STALL_MS) {
            reject(new Error(`BullMQ stalled: ${completed} of ${total} jobs completed`));
          } else resolve();
        }, STALL_MS);
        wake = () => {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        };
      });
    }
  }

  /** Removes every key of the queue, then closes the connections. */
  async close(): Promise<void> {
    try {
      await this.queue.obliterate({ force: true });
    } finally {
      await this.events.close();
      await this.queue.close();
    }
  }
}
