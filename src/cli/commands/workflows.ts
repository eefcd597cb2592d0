import type { Command } from "commander";
import type { WorkflowRecord } from "../../workflows/workflow-record.ts";
import type { WorkflowSubmitReply } from "../../workflows/workflow-service.ts";
import { type ConnectionFlags, connectFromFlags, withConnectionFlags } from "../connect.ts";
import { EXIT } from "../exit.ts";
import { fmtAgo, fmtPercent, type Output, statusColor, table } from "../output.ts";
import { readSpecFile } from "../spec-file.ts";
import type { Run } from "./run.ts";

interface JsonFlag extends ConnectionFlags {
  json?: boolean;
}

/** `troupe workflows submit|get|cancel`: workflows, over the public request subjects. */
export function workflowsCommand(program: Command, run: Run): void {
  const workflows = program.command("workflows").description("submit, show and cancel workflows");
  withConnectionFlags(
    workflows
      .command("submit")
      .description("submit a workflow (JSON or YAML, seed 001's shape) from FILE, or - for stdin")
      .argument("<file>", "the workflow: a .json or .yaml file, or - for standard input")
      .option("--json", "print the reply as JSON"),
  ).action((file: string, flags: JsonFlag) =>
    run(async (out) => {
      const body = await readSpecFile(file);
      await using client = await connectFromFlags(flags);
      const reply = await client.request<WorkflowSubmitReply>("workflowsSubmit", body);
      if (flags.json) out.json(reply);
      else out.line(`${reply.workflow_id} ${reply.status} (${reply.total_steps} steps)`);
      return EXIT.ok;
    }),
  );

  for (const [name, subject, description] of [
    ["get", "workflowsGet", "show a workflow and its steps"],
    ["cancel", "workflowsCancel", "cancel a workflow: its running and waiting step jobs too"],
  ] as const) {
    withConnectionFlags(
      workflows
        .command(name)
        .description(description)
        .argument("<workflow_id>", "the workflow's id, as submit printed it")
        .option("--json", "print the workflow record as JSON"),
    ).action((workflowId: string, flags: JsonFlag) =>
      run(async (out) => {
        await using client = await connectFromFlags(flags);
        const record = await client.request<WorkflowRecord>(subject, { workflow_id: workflowId });
        if (flags.json) out.json(record);
        else printWorkflow(record, out);
        return EXIT.ok;
      }),
    );
  }
}

function printWorkflow(w: WorkflowRecord, out: Output): void {
  const c = out.color;
  out.line(
    `${c.bold(w.workflow_id)}  ${w.workflow_name}  ${statusColor(w.status, c)}  ${fmtAgo(w.created_at)}`,
  );
  if (w.error) out.line(c.red(w.error));
  const rows = w.steps.map((s) => [
    s.step_id,
    statusColor(s.status, c),
    s.job_id ?? "—",
    fmtPercent(s.metrics?.accuracy ?? null),
    s.depends_on.join(",") || "—",
    s.error ?? "",
  ]);
  for (const line of table(["STEP", "STATUS", "JOB", "ACC", "NEEDS", "NOTE"], rows, { color: c })) {
    out.line(line);
  }
}
