import { describe, expect, it } from "vitest";
import {
  canTransitionJob,
  canTransitionTask,
  isTerminalJobState,
  JOB_STATES,
  TASK_STATES,
} from "../../src/jobs/job-state.ts";

describe("the job state table", () => {
  it("follows SUBMITTED → QUEUED → RUNNING → COMPLETED", () => {
    expect(canTransitionJob("SUBMITTED", "QUEUED")).toBe(true);
    expect(canTransitionJob("QUEUED", "RUNNING")).toBe(true);
    expect(canTransitionJob("RUNNING", "COMPLETED")).toBe(true);
  });

  it("never completes a job that did not run, and never leaves a terminal state", () => {
    expect(canTransitionJob("QUEUED", "COMPLETED")).toBe(false);
    for (const from of JOB_STATES.filter(isTerminalJobState)) {
      for (const to of JOB_STATES) expect(canTransitionJob(from, to)).toBe(false);
    }
  });

  it("lets a job that has not ended be cancelled, time out or fail", () => {
    for (const from of ["SUBMITTED", "QUEUED", "RUNNING"] as const) {
      for (const to of ["CANCELLED", "TIMEOUT", "FAILED"] as const)
        expect(canTransitionJob(from, to)).toBe(true);
    }
  });

  it("pauses a queued or running job, and resumes it to where it was", () => {
    for (const from of ["QUEUED", "RUNNING"] as const) {
      expect(canTransitionJob(from, "PAUSED")).toBe(true);
      expect(canTransitionJob("PAUSED", from)).toBe(true);
    }
    expect(canTransitionJob("SUBMITTED", "PAUSED")).toBe(false);
    expect(canTransitionJob("PAUSED", "CANCELLED")).toBe(true);
  });

  it("puts RETRYING between a failed attempt and the next", () => {
    expect(canTransitionTask("RUNNING", "RETRYING")).toBe(true);
    expect(canTransitionTask("RETRYING", "RUNNING")).toBe(true);
    expect(canTransitionTask("QUEUED", "COMPLETED")).toBe(false);
    expect(TASK_STATES).toContain("RETRYING");
  });
});
