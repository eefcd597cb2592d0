import type { ApiClient } from "./api-client.ts";

/** A workflow record as the API returns it (the fields tests look at). */
export interface Workflow {
  workflow_id: string;
  status: string;
  error: string | null;
  driver: { worker_id: string; pid: number } | null;
  steps: {
    step_id: string;
    status: string;
    job_id: string | null;
    error: string | null;
    metrics: Record<string, number | null> | null;
  }[];
}

export async function submitWorkflow(client: ApiClient, body: unknown): Promise<string> {
  const reply = await client.request<{ workflow_id?: string }>("troupe.workflows.submit", body);
  if (!reply.body.workflow_id) throw new Error(`refused: ${JSON.stringify(reply.body)}`);
  return reply.body.workflow_id;
}

export async function getWorkflow(client: ApiClient, workflowId: string): Promise<Workflow> {
  const reply = await client.request<Workflow>("troupe.workflows.get", { workflow_id: workflowId });
  return reply.body;
}

/**
 * Resolves with the workflow once it has ended (or once `reached` says so): woken by its events,
 * confirmed by a get; a look every second guards against a lost event.
 */
export async function waitForWorkflow(
  client: ApiClient,
  workflowId: string,
  timeoutMs = 120_000,
  reached: (w: Workflow) => boolean = (w) => w.status !== "RUNNING",
): Promise<Workflow> {
  let wake: (() => void) | undefined;
  const sub = client.nc.subscribe(`troupe.events.workflow.${workflowId}`, {
    callback: () => wake?.(),
  });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const changed = new Promise<void>((resolve) => {
        wake = resolve;
      });
      const workflow = await getWorkflow(client, workflowId).catch(() => undefined);
      if (workflow?.workflow_id && reached(workflow)) return workflow;
      if (Date.now() > deadline) {
        throw new Error(`workflow ${workflowId} still ${workflow?.status} after ${timeoutMs} ms`);
      }
      await Promise.race([changed, new Promise((resolve) => setTimeout(resolve, 1_000))]);
    }
  } finally {
    sub.unsubscribe();
  }
}

export const stepStates = (w: Workflow) =>
  Object.fromEntries(w.steps.map((s) => [s.step_id, s.status]));
