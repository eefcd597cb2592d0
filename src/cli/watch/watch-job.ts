import type { JobRecord } from "../../jobs/job-record.ts";
import type { ReceivedEvent, TroupeClient } from "../../transport/client.ts";
import { EXIT, exitCodeOfJob } from "../exit.ts";
import { fmtDuration, fmtLoss, fmtPercent, type Output } from "../output.ts";
import { BarsView, type WatchView } from "./bars.ts";
import { JobProgress } from "./job-progress.ts";
import { LinesView, SilentView } from "./lines.ts";

/**
 * How often the job's record is read again while watching: events are core NATS (at most once),
 * so a lost "job ended" event must not leave the watch waiting forever.
 */
const RESYNC_EVERY_MS = 5_000;

export interface WatchJobOptions {
  client: TroupeClient;
  jobId: string;
  /** The job's events, subscribed before it was submitted (so none is missed). */
  events: AsyncIterable<ReceivedEvent>;
  out: Output;
  /** Print the job's events and its final record as JSON lines instead of drawing. */
  json: boolean;
  /** Aborted by Ctrl-C: stop watching, leave the job running. */
  interrupt: AbortSignal;
}

/**
 * Shows a job's progress until it ends, then its outcome; resolves with the exit code (0
 * COMPLETED, 1 otherwise, 130 when interrupted).
 * @throws NatsUnreachableError when the connection is lost for good (exit 3).
 */
export async function watchJob(o: WatchJobOptions): Promise<number> {
  const { client, jobId, out } = o;
  const progress = new JobProgress(jobId);
  progress.applyRecord(await client.request<JobRecord>("get", { job_id: jobId }));
  const view: WatchView = o.json
    ? new SilentView()
    : out.tty
      ? new BarsView(out, progress)
      : new LinesView(out);
  view.update(progress);

  let finish!: (why: "ended" | "interrupted" | "lost") => void;
  const finished = new Promise<"ended" | "interrupted" | "lost">((resolve) => {
    finish = resolve;
  });
  const iterator = o.events[Symbol.asyncIterator]();
  void (async () => {
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      if (!progress.apply(next.value.event)) continue;
      if (o.json) out.json(next.value.event);
      view.update(progress);
      if (progress.ended) finish("ended");
    }
  })();
  const resync = async () => {
    const record = await client.request<JobRecord>("get", { job_id: jobId }).catch(() => undefined);
    if (!record) return;
    progress.applyRecord(record);
    view.update(progress);
    if (progress.ended) finish("ended");
  };
  const timer = setInterval(() => void resync(), RESYNC_EVERY_MS);
  client.onReconnect(() => void resync());
  o.interrupt.addEventListener("abort", () => finish("interrupted"), { once: true });
  void client.lost().then(() => finish("lost"));
  if (progress.ended) finish("ended");

  const why = await finished;
  clearInterval(timer);
  await iterator.return?.();
  if (why === "lost") {
    view.stop(progress);
    throw await client.lost();
  }
  if (why === "interrupted") {
    view.stop(progress);
    out.err.write(
      `\nStopped watching ${jobId}: it goes on (${progress.status}).\nCancel it with: troupe jobs cancel ${jobId}\n`,
    );
    return EXIT.interrupted;
  }
  // The final record holds the aggregate's metrics and the error, if any.
  const final = await client.request<JobRecord>("get", { job_id: jobId }).catch(() => undefined);
  if (final) progress.applyRecord(final);
  view.stop(progress);
  if (o.json) out.json({ type: "end", job: final ?? null });
  else summarize(progress, out);
  return exitCodeOfJob(progress.status);
}

function summarize(p: JobProgress, out: Output): void {
  const c = out.color;
  const took =
    p.createdAt && p.finishedAt
      ? fmtDuration(Date.parse(p.finishedAt) - Date.parse(p.createdAt))
      : "—";
  if (p.status === "COMPLETED") {
    out.line(
      `${c.green("✔")} ${p.jobId} ${c.green("COMPLETED")} in ${took}: ${p.completed}/${p.total} tasks, loss ${fmtLoss(p.metrics.loss)}, accuracy ${fmtPercent(p.metrics.accuracy)}`,
    );
    return;
  }
  out.line(
    `${c.red("✖")} ${p.jobId} ${c.red(p.status)} after ${took}: ${p.completed}/${p.total} tasks completed, ${p.failed} failed`,
  );
  out.err.write(`troupe: job ${p.jobId} ${p.status}${p.error ? `: ${p.error}` : ""}\n`);
}
