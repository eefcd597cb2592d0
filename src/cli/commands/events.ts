import type { Command } from "commander";
import { type TaskEvent, type TroupeEvent, taskEventsOf } from "../../contract/events.ts";
import type { JobRecord } from "../../jobs/job-record.ts";
import { isTerminalJobState, type JobState } from "../../jobs/job-state.ts";
import { type ConnectionFlags, connectFromFlags, withConnectionFlags } from "../connect.ts";
import { EXIT, exitCodeOfJob } from "../exit.ts";
import { fmtLoss, fmtPercent, type Output, statusColor } from "../output.ts";
import type { Run } from "./run.ts";

interface EventsFlags extends ConnectionFlags {
  json?: boolean;
  heartbeats?: boolean;
}

/**
 * `troupe events [JOB]`: the live events, as `nats sub 'troupe.events.>'` shows them but readable.
 * With a job, only its events, ending when it ends (exit code as for a watched job).
 */
export function eventsCommand(program: Command, run: Run): void {
  withConnectionFlags(
    program
      .command("events")
      .description("follow live events: every job, task and worker, or one job's until it ends")
      .argument("[job_id]", "only this job's events; ends when the job ends")
      .option("--json", "one event a line, as published (JSON)")
      .option("--heartbeats", "show worker heartbeats too (every few seconds per worker)"),
  ).action((jobId: string | undefined, flags: EventsFlags) =>
    run((out, interrupt) => follow(jobId, flags, out, interrupt), { watches: true }),
  );
}

async function follow(
  jobId: string | undefined,
  flags: EventsFlags,
  out: Output,
  interrupt: AbortSignal,
): Promise<number> {
  await using client = await connectFromFlags(flags);
  const stop = new AbortController();
  interrupt.addEventListener("abort", () => stop.abort(), { once: true });
  void client.lost().then(() => stop.abort());
  const e = client.names.events;
  const subjects = jobId ? [e.job(jobId), e.tasksOf(jobId), e.chunksOf(jobId)] : [e.all];
  const events = client.subscribe(subjects, { signal: stop.signal });
  let ended: string | undefined;
  if (jobId) {
    // After subscribing: nothing between the read and the first event is missed.
    const record = await client.request<JobRecord>("get", { job_id: jobId });
    if (!flags.json) out.line(`${jobId} ${statusColor(record.status, out.color)}`);
    if (isTerminalJobState(record.status)) ended = record.status;
  }
  try {
    for await (const { event } of ended ? [] : events) {
      if (event.type === "worker" && event.event === "heartbeat" && !flags.heartbeats) continue;
      if (flags.json) out.json(event);
      else for (const line of linesOf(event, out)) out.line(line);
      if (jobId && event.type === "job" && isTerminalJobState(event.status as JobState)) {
        ended = event.status;
        break;
      }
    }
  } finally {
    stop.abort();
  }
  if (ended) return exitCodeOfJob(ended);
  if (interrupt.aborted) return EXIT.interrupted;
  throw await client.lost();
}

/** One line per event (a chunk event: one per task it lists). */
function linesOf(event: TroupeEvent, out: Output): string[] {
  const c = out.color;
  const time = c.dim(event.at.slice(11, 23));
  switch (event.type) {
    case "job": {
      const failed = event.failed_tasks > 0 ? `  ${event.failed_tasks} failed` : "";
      const error = event.error ? `  ${c.red(event.error)}` : "";
      return [
        `${time}  job     ${event.job_id}  ${statusColor(event.status, c)}  ${event.completed_tasks}/${event.total_tasks} tasks${failed}${error}`,
      ];
    }
    case "task":
      return [taskLine(time, event, out)];
    case "chunk":
      return taskEventsOf(event).map((task) => taskLine(time, task, out));
    case "worker":
      return [
        `${time}  worker  ${event.worker_id}  ${event.event}  ${statusColor(event.status, c)}`,
      ];
    case "rejected":
      return [`${time}  ${c.red("rejected")} ${event.subject}  ${event.code}: ${event.message}`];
    case "workflow":
      return [`${time}  workflow ${event.workflow_id}  ${statusColor(event.status, c)}`];
  }
}

function taskLine(time: string, task: TaskEvent, out: Output): string {
  const c = out.color;
  const parts = [
    `${time}  task    ${task.job_id} #${task.task_index}`,
    statusColor(task.status, c),
  ];
  if (task.epoch !== undefined) parts.push(`epoch ${task.epoch}/${task.epochs ?? "?"}`);
  if (task.loss !== undefined) parts.push(`loss ${fmtLoss(task.loss)}`);
  if (task.accuracy !== undefined) parts.push(`acc ${fmtPercent(task.accuracy)}`);
  if (task.attempt > 1) parts.push(`attempt ${task.attempt}`);
  if (task.error) parts.push(c.red(task.error));
  if (task.reason) parts.push(c.dim(task.reason));
  return parts.join("  ");
}
