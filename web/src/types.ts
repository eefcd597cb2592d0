// The fields of the HTTP API's replies (README: "HTTP routes", "Worker activity") that the
// dashboard reads. The contract's own types and constants (events, states, priorities) come from
// the modules the server uses — they import nothing of Node's; records, whose modules do, are
// stated here as far as the page relies on them.

export type { ChunkEvent, JobEvent, TaskEvent } from "../../src/contract/events.ts";
export { PRIORITIES } from "../../src/contract/priorities.ts";
export { JOB_STATES, type JobState } from "../../src/jobs/job-state.ts";

import { isTerminalJobState, JOB_STATES, type JobState } from "../../src/jobs/job-state.ts";

/** Whether a status (as the API spells it) is one a job ends in. */
export const isEnded = (status: string): boolean =>
  (JOB_STATES as readonly string[]).includes(status) && isTerminalJobState(status as JobState);

export interface JobRecord {
  job_id: string;
  name: string;
  model_type: string;
  status: JobState;
  priority: string;
  user_id: string;
  total_tasks: number;
  completed_tasks: number;
  failed_tasks: number;
  running_tasks: number;
  progress: number;
  metrics: { loss: number | null; accuracy: number | null };
  retries: number;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  spec: { epochs: number; dataset: { samples: number; features: number } };
}

export interface JobList {
  jobs: JobRecord[];
  next_cursor: string | null;
}

export interface WorkerRecord {
  worker_id: string;
  status: string;
  hostname: string;
  pid: number;
  capabilities: { cpu_cores: number; memory_gb: number; max_concurrent_tasks: number };
  current_task_ids: string[];
  tasks_completed: number;
  tasks_failed: number;
  tasks_retried: number;
  tasks_cancelled: number;
  /** Shares of the machine, 0–1 (`cpu_usage`/`memory_usage` carry the same in percent). */
  cpu_share: number;
  memory_share: number;
  last_activity_at: string;
  started_at: string;
}

export interface WorkerActivity {
  total_workers: number;
  active_workers: number;
  busy_workers: number;
  workers: WorkerRecord[];
}

export interface QueueStatus {
  queues: Record<string, number>;
  pending: number;
  running: number;
}
