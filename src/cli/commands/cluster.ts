import type { Command } from "commander";
import type { QueueStatus } from "../../queue/queue-status.ts";
import type { WorkerActivity } from "../../workers/worker-record.ts";
import { type ConnectionFlags, connectFromFlags, withConnectionFlags } from "../connect.ts";
import { EXIT } from "../exit.ts";
import { fmtAgo, fmtPercent, type Output, statusColor, table } from "../output.ts";
import type { Run } from "./run.ts";

interface JsonFlag extends ConnectionFlags {
  json?: boolean;
}

/** `troupe workers` and `troupe queue`: what the cluster is doing. */
export function clusterCommands(program: Command, run: Run): void {
  withConnectionFlags(
    program
      .command("workers")
      .description("the workers (one per troupe process): state, load and running tasks")
      .option("--json", "print the reply as JSON"),
  ).action((flags: JsonFlag) =>
    run(async (out) => {
      await using client = await connectFromFlags(flags);
      const activity = await client.request<WorkerActivity>("workersList", {});
      if (flags.json) out.json(activity);
      else printWorkers(activity, out);
      return EXIT.ok;
    }),
  );

  withConnectionFlags(
    program
      .command("queue")
      .description("tasks waiting per priority, and running")
      .option("--json", "print the reply as JSON"),
  ).action((flags: JsonFlag) =>
    run(async (out) => {
      await using client = await connectFromFlags(flags);
      const status = await client.request<QueueStatus>("queueStatus", {});
      if (flags.json) out.json(status);
      else printQueue(status, out);
      return EXIT.ok;
    }),
  );
}

function printWorkers(activity: WorkerActivity, out: Output): void {
  const c = out.color;
  out.line(
    `${activity.total_workers} workers: ${activity.active_workers} active, ${activity.busy_workers} busy`,
  );
  if (activity.workers.length === 0) return;
  const rows = activity.workers.map((w) => [
    w.worker_id,
    statusColor(w.status, c),
    `${w.hostname}:${w.pid}`,
    `${w.current_task_ids.length}/${w.capabilities.max_concurrent_tasks}`,
    fmtPercent(w.cpu_share, 0),
    fmtPercent(w.memory_share, 0),
    String(w.tasks_completed),
    String(w.tasks_failed),
    String(w.tasks_retried),
    fmtAgo(w.last_activity_at),
  ]);
  const header = [
    "WORKER",
    "STATUS",
    "PROCESS",
    "SLOTS",
    "CPU",
    "MEM",
    "DONE",
    "FAILED",
    "RETRIED",
    "SEEN",
  ];
  out.line();
  for (const line of table(header, rows, { right: new Set([3, 4, 5, 6, 7, 8]), color: c })) {
    out.line(line);
  }
  const running = activity.workers.flatMap((w) =>
    w.current_task_ids.map((t) => `${w.worker_id}  ${t}`),
  );
  if (running.length > 0) {
    out.line();
    out.line(c.bold("running tasks (worker  job.task)"));
    for (const line of running) out.line(`  ${line}`);
  }
}

function printQueue(status: QueueStatus, out: Output): void {
  const c = out.color;
  const most = Math.max(1, ...Object.values(status.queues));
  const rows = Object.entries(status.queues).map(([priority, waiting]) => [
    priority,
    String(waiting),
    c.cyan("█".repeat(Math.round((waiting / most) * 30))),
  ]);
  for (const line of table(["PRIORITY", "WAITING", ""], rows, { right: new Set([1]), color: c })) {
    out.line(line);
  }
  out.line();
  out.line(`${status.pending} waiting, ${status.running} running`);
}
