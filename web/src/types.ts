// The fields of the HTTP API's replies (README: "HTTP routes", "Worker activity") that the
// dashboard reads. The browser is a separate program: it states what it relies on here.

export const JOB_STATES = [
  "SUBMITTED",
  "QUEUED",
  "RUNNING",
  "COMPLETED",
  "FAILED",
  "CANCELLED",
  "TIMEOUT",
] as const;
export type JobState = (typeof JOB_STATES)[number];

export const PRIORITIES = ["urgent", "high", "normal", "low"] as const;

export const isEnded = (status: string): boolean =>
  status === "COMPLETED" || status === "FAILED" || status === "CANCELLED" || status === "TIMEOUT";

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

/** `event: job` of the job event stream. */
export interface JobEvent {
  type: "job";
  job_id: string;
  status: JobState;
  completed_tasks: number;
  failed_tasks: number;
  total_tasks: number;
  progress: number;
  error: string | null;
  at: string;
}

/** `event: task` of the job event stream: a state change, or an epoch's progress. */
export interface TaskEvent {
  type: "task";
  job_id: string;
  task_index: number;
  status: string;
  attempt: number;
  worker_id: string;
  epoch?: number;
  epochs?: number;
  loss?: number;
  accuracy?: number;
  error?: string;
  reason?: string;
  at: string;
}
