/** HTTP schemas of queue control and insight (DESIGN §5.3). */
import Type from "typebox";
import { AnalyticsQuerySchema } from "../analytics/job-history.ts";
import { PRIORITIES } from "../contract/priorities.ts";
import { PriorityRequestSchema, ReorderRequestSchema } from "../queue/queue-control.ts";

const byPriority = <T extends Type.TSchema>(schema: T, description: string) =>
  Type.Object(
    Object.fromEntries(PRIORITIES.map((p) => [p, schema])) as Record<
      (typeof PRIORITIES)[number],
      T
    >,
    { description },
  );

/** A waiting job's place, in a submit reply and a queued job's record. */
export const QueuePlaceFields = {
  queue_position: Type.Optional(
    Type.Integer({ minimum: 1, description: "Its place in the queue while queued (1 = next)." }),
  ),
  estimated_start_time: Type.Optional(
    Type.Union([Type.String({ format: "date-time" }), Type.Null()], {
      description: "When it should start, at the recent rate of job starts; null while unknown.",
    }),
  ),
};

export const JobActionSchema = Type.Object({
  at: Type.String({ format: "date-time" }),
  action: Type.Enum(["priority", "reorder", "pause", "resume"]),
  from: Type.Optional(Type.Union([Type.String(), Type.Integer()])),
  to: Type.Optional(Type.Union([Type.String(), Type.Integer()])),
  reason: Type.Optional(Type.String()),
});

export const QueueStatusSchema = Type.Object(
  {
    queue_length: Type.Integer({ description: "Jobs waiting to start." }),
    running_jobs: Type.Integer({ description: "Jobs with tasks started." }),
    pending_jobs: Type.Integer({ description: "Waiting jobs held back by a quota." }),
    paused_jobs: Type.Integer({ description: "Paused jobs." }),
    priority_queues: byPriority(
      Type.Object({
        length: Type.Integer({ description: "Jobs waiting." }),
        avg_wait_time: Type.Number({ description: "Their mean wait so far, seconds." }),
      }),
      "Jobs waiting per priority (seed 001).",
    ),
    queues: byPriority(Type.Integer(), "Tasks waiting, per priority lane."),
    pending: Type.Integer({ description: "Tasks waiting in all lanes." }),
    running: Type.Integer({ description: "Tasks running on a live worker." }),
  },
  {
    examples: [
      {
        queue_length: 3,
        running_jobs: 2,
        pending_jobs: 1,
        paused_jobs: 0,
        priority_queues: {
          urgent: { length: 0, avg_wait_time: 0 },
          high: { length: 1, avg_wait_time: 4.2 },
          normal: { length: 2, avg_wait_time: 12.5 },
          low: { length: 0, avg_wait_time: 0 },
        },
        queues: { urgent: 0, high: 8, normal: 16, low: 0 },
        pending: 24,
        running: 4,
      },
    ],
  },
);

const { job_id: _priorityJob, ...priorityBody } = PriorityRequestSchema.properties;
export const PriorityBodySchema = Type.Object(priorityBody, {
  additionalProperties: false,
  examples: [{ priority: "urgent", reason: "the demo is at noon" }],
});

export const PauseBodySchema = Type.Object(
  {
    reason: Type.Optional(
      Type.String({ maxLength: 500, description: "Kept in the job's history." }),
    ),
  },
  { additionalProperties: false, examples: [{ reason: "let the urgent run through" }] },
);

export const ReorderBodySchema = Type.Object(ReorderRequestSchema.properties, {
  additionalProperties: false,
  examples: [{ job_id: "job_0mio3x2k1a7b9c3d5e7f", new_position: 1, reason: "blocking a release" }],
});

export const ReorderReplySchema = Type.Object({
  job_id: Type.String(),
  priority: Type.Enum([...PRIORITIES]),
  position: Type.Integer({ description: "Its place within its priority now." }),
  queue_position: Type.Integer({ description: "Its place in the whole queue now." }),
});

const GroupStatsSchema = Type.Object({
  jobs: Type.Integer(),
  completed: Type.Integer(),
  failed: Type.Integer({ description: "FAILED or TIMEOUT." }),
  success_rate: Type.Number({ description: "completed / (completed + failed), 0..1." }),
  avg_completion_time: Type.Number({ description: "Seconds from submit to the end (completed)." }),
  task_seconds: Type.Number({ description: "Task training time, seconds." }),
});

export const AnalyticsQueryStringSchema = AnalyticsQuerySchema;

export const AnalyticsReportSchema = Type.Object(
  {
    window: Type.String(),
    window_start: Type.String({ format: "date-time" }),
    window_end: Type.String({ format: "date-time" }),
    total_jobs: Type.Integer({ description: "Jobs that ended in the window." }),
    by_status: Type.Object({
      COMPLETED: Type.Integer(),
      FAILED: Type.Integer(),
      CANCELLED: Type.Integer(),
      TIMEOUT: Type.Integer(),
    }),
    throughput: Type.Object({
      jobs_per_hour: Type.Number(),
      avg_completion_time: Type.Number({ description: "Seconds, submit to end, completed jobs." }),
      queue_wait_time: Type.Number({ description: "Seconds, submit to first task start." }),
    }),
    success_metrics: Type.Object({
      success_rate: Type.Number(),
      retry_rate: Type.Number({ description: "Jobs with a task retried, of all jobs." }),
      total_retries: Type.Integer(),
      failure_analysis: Type.Array(Type.Object({ error: Type.String(), count: Type.Integer() }), {
        description: "The most frequent errors of failed and timed-out jobs.",
      }),
    }),
    resource_utilization: Type.Object({
      task_seconds: Type.Number(),
      cpu_core_seconds: Type.Number(),
      avg_busy_cores: Type.Number({ description: "Training seconds per second of the window." }),
      avg_tasks_per_job: Type.Number(),
    }),
    by_model_type: Type.Record(Type.String(), GroupStatsSchema),
    by_user: Type.Record(Type.String(), GroupStatsSchema),
  },
  {
    examples: [
      {
        window: "24h",
        window_start: "2026-12-02T12:00:00.000Z",
        window_end: "2026-12-03T12:00:00.000Z",
        total_jobs: 3,
        by_status: { COMPLETED: 2, FAILED: 1, CANCELLED: 0, TIMEOUT: 0 },
        throughput: { jobs_per_hour: 0.125, avg_completion_time: 42.5, queue_wait_time: 3.1 },
        success_metrics: {
          success_rate: 0.667,
          retry_rate: 0.333,
          total_retries: 2,
          failure_analysis: [{ error: "worker crashed: out of memory", count: 1 }],
        },
        resource_utilization: {
          task_seconds: 310.4,
          cpu_core_seconds: 310.4,
          avg_busy_cores: 0.004,
          avg_tasks_per_job: 4,
        },
        by_model_type: {
          neural_network: {
            jobs: 3,
            completed: 2,
            failed: 1,
            success_rate: 0.667,
            avg_completion_time: 42.5,
            task_seconds: 310.4,
          },
        },
        by_user: {
          alice: {
            jobs: 3,
            completed: 2,
            failed: 1,
            success_rate: 0.667,
            avg_completion_time: 42.5,
            task_seconds: 310.4,
          },
        },
      },
    ],
  },
);
