/**
 * Job and task states (DESIGN §2.2) and the one table of allowed transitions. Every state change
 * goes through `transition`, so an invalid one is caught (and logged with both states) in one place.
 */
export const JOB_STATES = [
  "SUBMITTED",
  "WAITING",
  "QUEUED",
  "RUNNING",
  "PAUSED",
  "COMPLETED",
  "FAILED",
  "CANCELLED",
  "TIMEOUT",
] as const;
export type JobState = (typeof JOB_STATES)[number];

export const TASK_STATES = [
  "QUEUED",
  "RUNNING",
  "RETRYING",
  "COMPLETED",
  "FAILED",
  "CANCELLED",
] as const;
export type TaskState = (typeof TASK_STATES)[number];

const ENDS_JOB = ["FAILED", "CANCELLED", "TIMEOUT"] as const;

const JOB_TRANSITIONS: Readonly<Record<JobState, readonly JobState[]>> = Object.freeze({
  SUBMITTED: ["WAITING", "QUEUED", ...ENDS_JOB],
  // On its dependencies (depends_on); CANCELLED when they can no longer hold.
  WAITING: ["QUEUED", ...ENDS_JOB],
  QUEUED: ["RUNNING", "PAUSED", ...ENDS_JOB],
  RUNNING: ["COMPLETED", "PAUSED", ...ENDS_JOB],
  // Resumed: RUNNING if it had started, else QUEUED (DESIGN §5.3). COMPLETED: its last tasks
  // finished as the pause reached them.
  PAUSED: ["QUEUED", "RUNNING", "COMPLETED", ...ENDS_JOB],
  COMPLETED: [],
  FAILED: [],
  CANCELLED: [],
  TIMEOUT: [],
});

const TASK_TRANSITIONS: Readonly<Record<TaskState, readonly TaskState[]>> = Object.freeze({
  QUEUED: ["RUNNING", "CANCELLED", "FAILED"],
  // RUNNING → QUEUED: a draining worker handed the task back (not a failed attempt).
  RUNNING: ["QUEUED", "COMPLETED", "FAILED", "RETRYING", "CANCELLED"],
  RETRYING: ["RUNNING", "FAILED", "CANCELLED"],
  COMPLETED: [],
  FAILED: [],
  CANCELLED: [],
});

export function isTerminalJobState(state: JobState): boolean {
  return JOB_TRANSITIONS[state].length === 0;
}

export function isTerminalTaskState(state: TaskState): boolean {
  return TASK_TRANSITIONS[state].length === 0;
}

export function canTransitionJob(from: JobState, to: JobState): boolean {
  return JOB_TRANSITIONS[from].includes(to);
}

export function canTransitionTask(from: TaskState, to: TaskState): boolean {
  return TASK_TRANSITIONS[from].includes(to);
}
