import { pack, unpack } from "msgpackr";
import Type from "typebox";
import type { Clock } from "../clock.ts";
import { parseDuration } from "../duration.ts";
import { InvalidRequestError, NotReadyError } from "../errors.ts";
import type { JobRecord } from "../jobs/job-record.ts";
import type { HistoryLog } from "../transport/ports.ts";
import { checkRequest } from "../validation.ts";
import { type AnalyticsReport, analyze } from "./analytics.ts";
import { type JobSummary, summaryOf } from "./job-summary.ts";

const DAY_MS = 86_400_000;
/** A report waits this long for the history to be read at start, then answers 503. */
const LOADING_WAIT_MS = 10_000;

export const AnalyticsQuerySchema = Type.Object(
  {
    window: Type.Optional(
      Type.String({
        pattern: "^[0-9]+(\\.[0-9]+)?(ms|s|m|h|d)$",
        default: "24h",
        description: "How far back: 30m, 24h, 7d (at most ANALYTICS_RETENTION).",
      }),
    ),
  },
  { additionalProperties: false },
);

/** Appends an ended job's summary to the history (once: its job id de-duplicates). */
export async function recordEnd(
  log: HistoryLog,
  record: JobRecord,
  taskSeconds: number,
): Promise<void> {
  await log.append(record.job_id, pack(summaryOf(record, taskSeconds)));
}

/**
 * This process's copy of the history: every ended job's summary within the retention, read from
 * the history stream on the first report and followed after, so any process answers analytics
 * from memory — the same answer everywhere, and again after a restart (the stream is the truth).
 * A process nobody asks for analytics reads nothing: the job path pays for the append only.
 */
export class JobHistory {
  readonly #summaries = new Map<string, JobSummary>();
  readonly #clock: Clock;
  readonly #retentionMs: number;
  readonly #ready: Promise<void>;
  #markReady: () => void = () => undefined;
  #stop: (() => void) | undefined;
  readonly #log: HistoryLog;

  constructor(log: HistoryLog, clock: Clock, retentionMs: number) {
    this.#log = log;
    this.#clock = clock;
    this.#retentionMs = retentionMs;
    this.#ready = new Promise((resolve) => {
      this.#markReady = resolve;
    });
  }

  /** Reads the history and follows it (the first report does, if nothing did before). */
  follow(): void {
    this.#stop ??= this.#log.follow(
      (bytes) => this.add(unpack(bytes) as JobSummary),
      () => this.#markReady(),
    );
  }

  close(): void {
    this.#stop?.();
  }

  /** The first summary of a job stands (a late owner's second one knows less of it). */
  add(summary: JobSummary): void {
    if (!this.#summaries.has(summary.job_id)) this.#summaries.set(summary.job_id, summary);
  }

  /**
   * Analytics over the jobs that ended in the window (`{window: "24h"}` by default).
   * @throws InvalidRequestError naming a window that is not a duration.
   */
  async report(body: unknown): Promise<AnalyticsReport> {
    const { window = "24h" } = checkRequest(AnalyticsQuerySchema, body ?? {}, "analytics query");
    const ms = windowMs(window);
    if (ms === undefined || ms <= 0) {
      throw new InvalidRequestError("analytics query", [
        { path: "/window", message: `${window} is not a duration such as 30m, 24h or 7d` },
      ]);
    }
    this.follow();
    let timer: NodeJS.Timeout | undefined;
    const loaded = await Promise.race([
      this.#ready.then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), LOADING_WAIT_MS);
      }),
    ]).finally(() => clearTimeout(timer));
    if (!loaded) throw new NotReadyError("the job history is still being read; ask again shortly");
    const now = this.#clock.now();
    for (const [jobId, summary] of this.#summaries) {
      if (summary.finished_ms < now - this.#retentionMs) this.#summaries.delete(jobId);
    }
    return analyze(this.#summaries.values(), { label: window, ms, nowMs: now });
  }
}

function windowMs(window: string): number | undefined {
  return window.endsWith("d") && !window.endsWith("ms")
    ? Number(window.slice(0, -1)) * DAY_MS
    : parseDuration(window);
}
