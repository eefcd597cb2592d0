import type { ApiClient } from "./api-client.ts";

export const TERMINAL = ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"];

/** A job record as the API returns it (the fields tests look at). */
export interface Job {
  job_id: string;
  status: string;
  total_tasks: number;
  completed_tasks: number;
  failed_tasks: number;
  running_tasks: number;
  retries: number;
  progress: number;
  error: string | null;
  metrics: { loss: number | null; accuracy: number | null };
  started_at: string | null;
  finished_at: string | null;
}

/** A small, quick job: logistic regression on a little synthetic data. */
export function quickSpec(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model_type: "logistic_regression",
    dataset: { samples: 600, features: 8, seed: 1 },
    epochs: 2,
    tasks: 2,
    ...overrides,
  };
}

export async function submit(client: ApiClient, spec: Record<string, unknown>): Promise<string> {
  const reply = await client.request<{ job_id?: string; error?: unknown }>("troupe.jobs.submit", spec);
  if (!reply.body.job_id) throw new Error(`submit refused: ${JSON.stringify(reply.body)}`);
  return reply.body.job_id;
}

export async function getJob(client: ApiClient, jobId: string): Promise<Job> {
  return (await client.request<Job>("troupe.jobs.get", { job_id: jobId })).body;
}

/**
 * Resolves with the job record once the job has ended: woken by the job's events, confirmed by a
 * get (an event published before the subscription would otherwise be missed).
 */
export async function waitForJob(client: ApiClient, jobId: string, timeoutMs = 120_000): Promise<Job> {
  let wake: (() => void) | undefined;
  const sub = client.nc.subscribe(`troupe.events.job.${jobId}`, { callback: () => wake?.() });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const changed = new Promise<void>((resolve) => {
        wake = resolve;
      });
      const job = await getJob(client, jobId);
      if (TERMINAL.includes(job.status)) return job;
      if (Date.now() > deadline) throw new Error(`job ${jobId} still ${job.status} after ${timeoutMs} ms`);
      // The next state change of this job wakes us; a look every second guards against a lost event.
      await Promise.race([changed, new Promise((resolve) => setTimeout(resolve, 1_000))]);
    }
  } finally {
    sub.unsubscribe();
  }
}
