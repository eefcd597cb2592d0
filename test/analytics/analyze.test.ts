import { describe, expect, it } from "vitest";
import { analyze, causeOf } from "../../src/analytics/analytics.ts";
import type { JobSummary } from "../../src/analytics/job-summary.ts";

const HOUR = 3_600_000;
const NOW = 100 * HOUR;

const summary = (job_id: string, fields: Partial<JobSummary>): JobSummary => ({
  job_id,
  model_type: "neural_network",
  user_id: "alice",
  service: "neural_network",
  priority: "normal",
  status: "COMPLETED",
  created_ms: NOW - 2 * HOUR,
  started_ms: NOW - 2 * HOUR + 10_000,
  finished_ms: NOW - HOUR,
  total_tasks: 4,
  retries: 0,
  task_seconds: 100,
  cpu_cores: 1,
  error: null,
  ...fields,
});

describe("analytics over job summaries", () => {
  it("counts only the jobs that ended in the window, by status, model type and user", () => {
    const report = analyze(
      [
        summary("a", {}),
        summary("b", { user_id: "bob", retries: 2, cpu_cores: 2 }),
        summary("c", {
          model_type: "xgboost",
          status: "FAILED",
          error: "task 3 failed after 2 attempt(s): worker crashed: out of memory",
        }),
        summary("d", {
          status: "FAILED",
          error: "task 0 failed after 1 attempt(s): worker crashed: out of memory",
        }),
        summary("e", {
          status: "TIMEOUT",
          error: "job exceeded timeout_s (60 s)",
          started_ms: null,
        }),
        summary("f", { status: "CANCELLED", error: "cancelled on request" }),
        summary("old", { finished_ms: NOW - 30 * HOUR }),
      ],
      { label: "24h", ms: 24 * HOUR, nowMs: NOW },
    );
    expect(report.total_jobs).toBe(6);
    expect(report.by_status).toEqual({ COMPLETED: 2, FAILED: 2, CANCELLED: 1, TIMEOUT: 1 });
    expect(report.throughput).toEqual({
      jobs_per_hour: 0.25,
      avg_completion_time: 3600,
      queue_wait_time: 10,
    });
    expect(report.success_metrics).toEqual({
      success_rate: 0.4, // 2 of the 5 that completed, failed or timed out (cancelled: neither)
      retry_rate: 0.167,
      total_retries: 2,
      failure_analysis: [
        { error: "worker crashed: out of memory", count: 2 },
        { error: "job exceeded timeout_s (60 s)", count: 1 },
      ],
    });
    expect(report.resource_utilization).toEqual({
      task_seconds: 600,
      cpu_core_seconds: 700,
      avg_busy_cores: 0.008,
      avg_tasks_per_job: 4,
    });
    expect(report.by_model_type.xgboost).toEqual({
      jobs: 1,
      completed: 0,
      failed: 1,
      success_rate: 0,
      avg_completion_time: 0,
      task_seconds: 100,
    });
    expect(report.by_user.bob).toMatchObject({ jobs: 1, completed: 1, success_rate: 1 });
    expect(report.by_user.alice).toMatchObject({ jobs: 5, completed: 1, failed: 3 });
  });

  it("answers zeros for an empty window", () => {
    const report = analyze([], { label: "1h", ms: HOUR, nowMs: NOW });
    expect(report.total_jobs).toBe(0);
    expect(report.success_metrics.success_rate).toBe(0);
    expect(report.by_model_type).toEqual({});
  });

  it("groups failures by their cause, not by task number", () => {
    expect(causeOf("task 12 failed after 3 attempt(s): training diverged")).toBe(
      "training diverged",
    );
    expect(causeOf("job exceeded timeout_s (5 s)")).toBe("job exceeded timeout_s (5 s)");
  });
});
