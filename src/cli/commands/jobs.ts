import { type Command, InvalidArgumentError, Option } from "commander";
import type { JobRecord } from "../../jobs/job-record.ts";
import { JOB_STATES } from "../../jobs/job-state.ts";
import { type ConnectionFlags, connectFromFlags, withConnectionFlags } from "../connect.ts";
import { EXIT } from "../exit.ts";
import {
  clip,
  fmtAgo,
  fmtDuration,
  fmtLoss,
  fmtPercent,
  type Output,
  statusColor,
  table,
} from "../output.ts";
import type { Run } from "./run.ts";

interface JsonFlag extends ConnectionFlags {
  json?: boolean;
}

interface ListFlags extends JsonFlag {
  status?: string;
  user?: string;
  limit?: number;
  cursor?: string;
}

/** `troupe jobs ls|get|cancel|pause|resume`: the job records, over the public request subjects. */
export function jobsCommand(program: Command, run: Run): void {
  const jobs = program.command("jobs").description("list, show, cancel, pause and resume jobs");
  withConnectionFlags(
    jobs
      .command("ls")
      .alias("list")
      .description("list jobs, newest first")
      .addOption(new Option("--status <state>", "only jobs in this state").choices(JOB_STATES))
      .option("--user-id <user>", "only this user's jobs")
      .option("-n, --limit <n>", "at most this many (1–1000)", limitOf, 50)
      .option("--cursor <job_id>", "the page after this job (next_cursor of the previous page)")
      .option("--json", "print the reply as JSON: {jobs, next_cursor}"),
  ).action((flags: ListFlags & { userId?: string }) =>
    run(async (out) => {
      await using client = await connectFromFlags(flags);
      const query = {
        ...(flags.status ? { status: flags.status } : {}),
        ...(flags.userId ? { user_id: flags.userId } : {}),
        limit: flags.limit,
        ...(flags.cursor ? { cursor: flags.cursor } : {}),
      };
      const page = await client.request<{ jobs: JobRecord[]; next_cursor: string | null }>(
        "list",
        query,
      );
      if (flags.json) out.json(page);
      else printList(page.jobs, page.next_cursor, out);
      return EXIT.ok;
    }),
  );

  withConnectionFlags(
    jobs
      .command("get")
      .description("show one job")
      .argument("<job_id>", "the job's id, as submit printed it")
      .option("--json", "print the job record as JSON"),
  ).action((jobId: string, flags: JsonFlag) =>
    run(async (out) => {
      await using client = await connectFromFlags(flags);
      const job = await client.request<JobRecord>("get", { job_id: jobId });
      if (flags.json) out.json(job);
      else printJob(job, out);
      return EXIT.ok;
    }),
  );

  withConnectionFlags(
    jobs
      .command("cancel")
      .description("cancel a job that has not ended (its running tasks are stopped)")
      .argument("<job_id>", "the job's id")
      .option("--json", "print the job record as JSON"),
  ).action((jobId: string, flags: JsonFlag) =>
    run(async (out) => {
      await using client = await connectFromFlags(flags);
      const job = await client.request<JobRecord>("cancel", { job_id: jobId });
      if (flags.json) out.json(job);
      else
        out.line(
          `cancelled ${job.job_id} (${job.completed_tasks}/${job.total_tasks} tasks had completed)`,
        );
      return EXIT.ok;
    }),
  );

  for (const action of ["pause", "resume"] as const) {
    withConnectionFlags(
      jobs
        .command(action)
        .description(
          action === "pause"
            ? "pause a queued or running job (its running tasks stop at their next epoch, checkpointed)"
            : "resume a paused job from its checkpoints",
        )
        .argument("<job_id>", "the job's id")
        .option("--reason <text>", "why (kept in the job's history)")
        .option("--json", "print the job record as JSON"),
    ).action((jobId: string, flags: JsonFlag & { reason?: string }) =>
      run(async (out) => {
        await using client = await connectFromFlags(flags);
        const body =
          flags.reason === undefined ? { job_id: jobId } : { job_id: jobId, reason: flags.reason };
        const job = await client.request<JobRecord>(action, body);
        if (flags.json) out.json(job);
        else out.line(`${action === "pause" ? "paused" : "resumed"} ${job.job_id}: ${job.status}`);
        return EXIT.ok;
      }),
    );
  }
}

function limitOf(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 1000) {
    throw new InvalidArgumentError("expected a whole number from 1 to 1000");
  }
  return n;
}

function printList(jobs: JobRecord[], next: string | null, out: Output): void {
  const c = out.color;
  if (jobs.length === 0) {
    out.line(c.dim("no jobs"));
    return;
  }
  const rows = jobs.map((job) => [
    job.job_id,
    clip(job.name, 24),
    job.model_type,
    statusColor(job.status, c),
    `${job.completed_tasks}/${job.total_tasks}`,
    fmtPercent(job.progress, 0),
    fmtLoss(job.metrics.loss),
    fmtPercent(job.metrics.accuracy),
    job.user_id,
    fmtAgo(job.created_at),
  ]);
  const header = [
    "JOB",
    "NAME",
    "MODEL",
    "STATUS",
    "TASKS",
    "DONE",
    "LOSS",
    "ACC",
    "USER",
    "CREATED",
  ];
  for (const line of table(header, rows, { right: new Set([4, 5, 6, 7]), color: c })) {
    out.line(line);
  }
  if (next) out.line(c.dim(`more: troupe jobs ls --cursor ${next}`));
}

function printJob(job: JobRecord, out: Output): void {
  const c = out.color;
  const ran =
    job.started_at && (job.finished_at ?? undefined)
      ? fmtDuration(Date.parse(job.finished_at as string) - Date.parse(job.started_at))
      : job.started_at
        ? `${fmtDuration(Date.now() - Date.parse(job.started_at))} so far`
        : "—";
  const fields: [string, string][] = [
    ["job", c.bold(job.job_id)],
    ["name", job.name],
    ["status", statusColor(job.status, c)],
    ["model", `${job.model_type}, ${job.spec.epochs} epochs`],
    ["priority", job.priority],
    ["user", job.user_id],
    [
      "tasks",
      `${job.completed_tasks}/${job.total_tasks} completed, ${job.running_tasks} running, ${job.failed_tasks} failed, ${job.retries} retries`,
    ],
    ["progress", fmtPercent(job.progress)],
    ["loss", fmtLoss(job.metrics.loss)],
    ["accuracy", fmtPercent(job.metrics.accuracy)],
    ["created", `${job.created_at} (${fmtAgo(job.created_at)})`],
    ["ran", ran],
  ];
  if (job.error) fields.push(["error", c.red(job.error)]);
  const width = Math.max(...fields.map(([key]) => key.length));
  for (const [key, value] of fields) out.line(`${c.dim(key.padEnd(width))}  ${value}`);
}
