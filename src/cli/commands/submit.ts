import type { Command } from "commander";
import type { SubmitReply } from "../../jobs/gateway.ts";
import { type ConnectionFlags, connectFromFlags, withConnectionFlags } from "../connect.ts";
import { EXIT } from "../exit.ts";
import type { Output } from "../output.ts";
import { readSpecFile } from "../spec-file.ts";
import { watchJob } from "../watch/watch-job.ts";
import type { Run } from "./run.ts";

interface SubmitFlags extends ConnectionFlags {
  watch?: boolean;
  json?: boolean;
}

/** `troupe submit FILE|-`: one job spec, JSON or YAML; `--watch` follows it to its end. */
export function submitCommand(program: Command, run: Run): void {
  withConnectionFlags(
    program
      .command("submit")
      .description("submit a job spec (JSON or YAML) from FILE, or from standard input with -")
      .argument("<file>", "the job spec: a .json or .yaml file, or - for standard input")
      .option("-w, --watch", "follow the job: a bar per task until it ends; exit code says how")
      .option("--json", "machine-readable output (with --watch: its events, one JSON a line)"),
  ).action((file: string, flags: SubmitFlags) =>
    run((out, interrupt) => submit(file, flags, out, interrupt), { watches: flags.watch }),
  );
}

async function submit(
  file: string,
  flags: SubmitFlags,
  out: Output,
  interrupt: AbortSignal,
): Promise<number> {
  const spec = await readSpecFile(file);
  await using client = await connectFromFlags(flags);
  if (!flags.watch) {
    const reply = await client.request<SubmitReply>("submit", spec);
    if (flags.json) out.json(reply);
    else out.line(describe(reply));
    return EXIT.ok;
  }
  // Subscribed before submitting, so even a job that ends at once is seen whole. Until the job
  // id is known every event is kept (bounded); after it, only this job's.
  let jobId: string | undefined;
  const stop = new AbortController();
  const events = client.subscribe([client.names.events.all], {
    signal: stop.signal,
    accept: (subject) => jobId === undefined || subject.includes(`.${jobId}`),
  });
  try {
    const reply = await client.request<SubmitReply>("submit", spec);
    jobId = reply.job_id;
    if (flags.json) out.json(reply);
    else if (!out.tty) out.line(describe(reply));
    return await watchJob({ client, jobId, events, out, json: flags.json === true, interrupt });
  } finally {
    stop.abort();
  }
}

function describe(reply: SubmitReply): string {
  const again = reply.duplicate ? " (its idempotency_key names this existing job)" : "";
  return `submitted ${reply.job_id}: ${reply.total_tasks} tasks, ${reply.status}${again}`;
}
