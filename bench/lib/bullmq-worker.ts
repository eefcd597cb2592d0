/**
 * A BullMQ worker process for bench/peers.ts. Env: REDIS_URL, BENCH_QUEUE, BENCH_PREFIX,
 * BENCH_MODE (`noop`: a processor that returns at once; `cpu`: the sandboxed training processor
 * in worker threads), BENCH_CONCURRENCY. Prints `ready` once connected; SIGTERM closes it.
 */
import { fileURLToPath } from "node:url";
import { Worker } from "bullmq";
import { redisConnection } from "./bullmq-load.ts";

const queue = required("BENCH_QUEUE");
const prefix = required("BENCH_PREFIX");
const mode = required("BENCH_MODE");
const concurrency = Number(required("BENCH_CONCURRENCY"));
const connection = redisConnection(process.env.REDIS_URL);

const worker =
  mode === "cpu"
    ? new Worker(queue, fileURLToPath(new URL("./bullmq-train.mjs", import.meta.url)), {
        connection,
        prefix,
        concurrency,
        // BullMQ's documented lighter sandbox: worker threads instead of child processes.
        useWorkerThreads: true,
      })
    : new Worker(queue, async () => ({ ok: true }), { connection, prefix, concurrency });
worker.on("error", (error) => console.error("worker error:", error));
await worker.waitUntilReady();
console.log("ready");

let closing = false;
const stop = () => {
  if (closing) process.exit(1);
  closing = true;
  void worker.close().finally(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}
