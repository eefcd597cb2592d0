import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventHub } from "../../src/actors/event-stream.ts";
import type { ActorEvent } from "../../src/actors/events.ts";
import { createMetrics, TASK_DURATION_JOBS } from "../../src/metrics.ts";
import { PipelineEvents } from "../../src/pipeline-events.ts";
import { type HttpFixture, parseMetrics, spec, startHttpFixture } from "./support.ts";

const NAMED = [
  "orchestrator_jobs_total",
  "orchestrator_active_workers",
  "orchestrator_tasks_queued",
  "orchestrator_job_duration_seconds",
  "orchestrator_task_retry_count",
  "worker_task_duration_seconds",
  "worker_tasks_completed_total",
  "worker_training_loss",
  "worker_concurrent_tasks",
  "worker_cpu_usage_percent",
  "worker_memory_usage_bytes",
  "worker_training_samples_per_second",
  "troupe_actor_restarts_total",
  "troupe_mailbox_depth",
  "process_cpu_user_seconds_total",
  "nodejs_eventloop_lag_seconds",
];

describe("createMetrics", () => {
  it("keeps each instance's series in its own registry", async () => {
    const a = createMetrics({ pipelineEvents: new PipelineEvents(), defaultMetrics: false });
    const pipeline = new PipelineEvents();
    const b = createMetrics({ pipelineEvents: pipeline, defaultMetrics: false });
    pipeline.emit({ kind: "task_retried", job_id: "j", task_index: 0, attempt: 2 });
    expect(parseMetrics(await a.render()).get("orchestrator_task_retry_count")).toBe(0);
    expect(parseMetrics(await b.render()).get("orchestrator_task_retry_count")).toBe(1);
    a.close();
    b.close();
  });

  it("holds a loss series only while its task runs, and drops a job's leftovers when the job ends", async () => {
    const pipeline = new PipelineEvents();
    const metrics = createMetrics({ pipelineEvents: pipeline, defaultMetrics: false });
    const loss = async () =>
      [...parseMetrics(await metrics.render()).keys()].filter((k) =>
        k.startsWith("worker_training_loss{"),
      );
    for (const task_index of [0, 1]) {
      pipeline.emit({
        kind: "task_started",
        job_id: "j1",
        task_index,
        model_type: "xgboost",
        attempt: 1,
      });
      pipeline.emit({
        kind: "task_progress",
        job_id: "j1",
        task_index,
        model_type: "xgboost",
        epoch: 1,
        loss: 0.5,
        accuracy: 0.7,
      });
    }
    expect(await loss()).toHaveLength(2);
    pipeline.emit({
      kind: "task_finished",
      job_id: "j1",
      task_index: 0,
      model_type: "xgboost",
      status: "COMPLETED",
      duration_s: 1,
    });
    expect(await loss()).toEqual(['worker_training_loss{job_id="j1",task_id="j1.1"}']);
    pipeline.emit({
      kind: "job_finished",
      job_id: "j1",
      model_type: "xgboost",
      status: "FAILED",
      duration_s: 3,
    });
    expect(await loss()).toEqual([]);
    expect(parseMetrics(await metrics.render()).get("worker_concurrent_tasks")).toBe(0);
    metrics.close();
  });

  it(`keeps job_id series of task durations for the last ${TASK_DURATION_JOBS} jobs only`, async () => {
    const pipeline = new PipelineEvents();
    const metrics = createMetrics({ pipelineEvents: pipeline, defaultMetrics: false });
    for (let job = 0; job < TASK_DURATION_JOBS + 8; job++) {
      pipeline.emit({
        kind: "task_finished",
        job_id: `j${job}`,
        task_index: 0,
        model_type: "svm",
        status: "COMPLETED",
        duration_s: 1,
      });
    }
    const jobs = new Set(
      [...parseMetrics(await metrics.render()).keys()]
        .filter((k) => k.startsWith("worker_task_duration_seconds_count{"))
        .map((k) => /job_id="(j\d+)"/.exec(k)?.[1]),
    );
    expect(jobs.size).toBe(TASK_DURATION_JOBS);
    expect(jobs.has("j0")).toBe(false);
    expect(jobs.has(`j${TASK_DURATION_JOBS + 7}`)).toBe(true);
    metrics.close();
  });

  it("stops counting once closed", async () => {
    const pipeline = new PipelineEvents();
    const metrics = createMetrics({ pipelineEvents: pipeline, defaultMetrics: false });
    metrics.close();
    pipeline.emit({ kind: "task_retried", job_id: "j", task_index: 0, attempt: 2 });
    expect(parseMetrics(await metrics.render()).get("orchestrator_task_retry_count")).toBe(0);
  });
});

describe("GET /metrics", () => {
  let fx: HttpFixture;
  let url: string;
  const actorEvents = new EventHub<ActorEvent>();
  let mailboxes = [{ actor: "dispatcher", depth: 3 }];

  beforeAll(async () => {
    fx = await startHttpFixture();
    const metrics = createMetrics({
      pipelineEvents: fx.pipeline,
      actorSystem: { events: actorEvents, stats: () => ({ mailboxes }) },
    });
    ({ url } = await fx.serve({ metrics }));
  });
  afterAll(() => fx.close());

  const scrape = async () => {
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    return Object.assign(parseMetrics(text), { text });
  };

  it("shows every named metric with values consistent with a job that ran", async () => {
    const res = await fetch(`${url}/api/v1/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(spec({ model_type: "neural_network", tasks: 2, epochs: 2 })),
    });
    const { job_id } = (await res.json()) as { job_id: string };
    const model_type = "neural_network" as const;
    const emit = fx.pipeline.emit.bind(fx.pipeline);

    emit({ kind: "queue_sampled", queued: 2, active_workers: 1 });
    emit({ kind: "job_started", job_id, model_type });
    for (const task_index of [0, 1])
      emit({ kind: "task_started", job_id, task_index, model_type, attempt: 1 });
    const progress = { kind: "task_progress", job_id, model_type, accuracy: 0.6 } as const;
    emit({ ...progress, task_index: 0, epoch: 1, loss: 0.9, samples_per_s: 1000 });
    emit({ ...progress, task_index: 1, epoch: 1, loss: 0.8, samples_per_s: 3000 });
    emit({ ...progress, task_index: 0, epoch: 2, loss: 0.4, samples_per_s: 2000 });
    actorEvents.emit({
      type: "restarted",
      actor: "/troupe/slot-1",
      supervisor: "/troupe",
      child: "slot-1",
      error: new Error("boom"),
      message: undefined,
      hasMessage: false,
      sibling: false,
      attempt: 1,
      delayMs: 0,
    });

    const during = await scrape();
    expect(during.get("worker_concurrent_tasks")).toBe(2);
    expect(during.get(`worker_training_loss{job_id="${job_id}",task_id="${job_id}.0"}`)).toBe(0.4);
    expect(during.get(`worker_training_loss{job_id="${job_id}",task_id="${job_id}.1"}`)).toBe(0.8);
    // Jobs are counted when they end (seed 000's labels); speed sums each task's latest epoch.
    expect(during.get('orchestrator_jobs_total{status="completed"}')).toBeUndefined();
    expect(during.get('worker_training_samples_per_second{model_type="neural_network"}')).toBe(
      5000,
    );

    emit({
      kind: "task_finished",
      job_id,
      task_index: 1,
      model_type,
      status: "RETRYING",
      duration_s: 0.5,
    });
    emit({ kind: "task_retried", job_id, task_index: 1, attempt: 2 });
    emit({ kind: "task_started", job_id, task_index: 1, model_type, attempt: 2 });
    for (const task_index of [0, 1]) {
      emit({
        kind: "task_finished",
        job_id,
        task_index,
        model_type,
        status: "COMPLETED",
        duration_s: 2,
      });
    }
    emit({ kind: "job_finished", job_id, model_type, status: "COMPLETED", duration_s: 4.5 });
    emit({ kind: "queue_sampled", queued: 0, active_workers: 1 });
    mailboxes = [{ actor: "dispatcher", depth: 0 }];

    const after = await scrape();
    for (const name of NAMED) expect(after.text).toMatch(new RegExp(`^# TYPE ${name} `, "m"));
    expect(after.get('orchestrator_jobs_total{status="completed"}')).toBe(1);
    expect(after.get("orchestrator_active_workers")).toBe(1);
    expect(after.get("orchestrator_tasks_queued")).toBe(0);
    expect(after.get("orchestrator_job_duration_seconds_count")).toBe(1);
    expect(after.get("orchestrator_job_duration_seconds_sum")).toBe(4.5);
    expect(after.get("orchestrator_task_retry_count")).toBe(1);
    const series = `model_type="neural_network",job_id="${job_id}"`;
    expect(after.get(`worker_task_duration_seconds_count{${series}}`)).toBe(3);
    expect(after.get(`worker_task_duration_seconds_sum{${series}}`)).toBe(4.5);
    expect(
      after.get('worker_tasks_completed_total{status="completed",model_type="neural_network"}'),
    ).toBe(2);
    expect(
      after.get('worker_tasks_completed_total{status="retrying",model_type="neural_network"}'),
    ).toBe(1);
    expect(after.get("worker_training_samples_per_second")).toBeUndefined();
    expect(after.get("worker_memory_usage_bytes")).toBeGreaterThan(1e6);
    expect(after.get("worker_cpu_usage_percent")).toBeGreaterThanOrEqual(0);
    expect([...after.keys()].filter((k) => k.startsWith("worker_training_loss{"))).toEqual([]);
    expect(after.get("worker_concurrent_tasks")).toBe(0);
    expect(after.get('troupe_actor_restarts_total{actor="/troupe/slot-1"}')).toBe(1);
    expect(after.get('troupe_mailbox_depth{actor="dispatcher"}')).toBe(0);
  });
});
