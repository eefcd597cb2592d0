import { newJobId } from "../jobs/job-record.ts";
import type { JobState } from "../jobs/job-state.ts";
import type { Condition } from "./workflow-conditions.ts";

export const WORKFLOW_STATES = ["RUNNING", "COMPLETED", "FAILED", "CANCELLED"] as const;
export type WorkflowState = (typeof WORKFLOW_STATES)[number];

/** A step's state: PENDING until its job is submitted, then its job's, or SKIPPED. */
export type StepState = "PENDING" | "SKIPPED" | JobState;

export const STEP_STATES: readonly StepState[] = [
  "PENDING",
  "SUBMITTED",
  "WAITING",
  "QUEUED",
  "RUNNING",
  "COMPLETED",
  "FAILED",
  "CANCELLED",
  "TIMEOUT",
  "SKIPPED",
];

/** One step as the workflow record keeps it. */
export interface StepRecord {
  step_id: string;
  /** Step ids this step needs (COMPLETED) before its job may run. */
  depends_on: string[];
  condition: Condition | null;
  /** The step whose model the job uses (`"model": {"from_step": …}`), if any. */
  model_from: string | null;
  /** The job body submitted for the step, before the workflow adds ids (template or spec). */
  job: Record<string, unknown>;
  status: StepState;
  job_id: string | null;
  /** Why it failed, was cancelled or skipped. */
  error: string | null;
  /** Its job's metrics once COMPLETED (what conditions read). */
  metrics: Record<string, number | null> | null;
}

/** A workflow as every door returns it (DESIGN §5.2) and as its driver keeps it. */
export interface WorkflowRecord {
  workflow_id: string;
  workflow_name: string;
  description: string;
  status: WorkflowState;
  user_id: string;
  error: string | null;
  created_at: string;
  finished_at: string | null;
  /** The process driving it now (it holds the workflow's lease). */
  driver: { worker_id: string; pid: number } | null;
  /** Where the manifest it came from keeps things (seed 003), as written there. */
  metadata?: Record<string, unknown>;
  steps: StepRecord[];
}

export function isTerminalWorkflowState(state: WorkflowState): boolean {
  return state !== "RUNNING";
}

const ENDED_STEP = new Set<StepState>(["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "SKIPPED"]);

export function isTerminalStepState(state: StepState): boolean {
  return ENDED_STEP.has(state);
}

/** A workflow id: `wf_` and a job id's time-sorted, random tail. */
export function newWorkflowId(now = Date.now()): string {
  return `wf_${newJobId(now).slice(4)}`;
}

export const WORKFLOW_ID = "^wf_[0-9a-z]{19}$";
