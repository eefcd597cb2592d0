import { useEffect, useMemo, useReducer, useState } from "preact/hooks";
import { api } from "../api.ts";
import { Figure, Problem, Progress, Status } from "../components/bits.tsx";
import { Chart, type Line } from "../components/chart.tsx";
import { fmtAgo, fmtDuration, fmtLoss, fmtPercent, fmtTime } from "../format.ts";
import { isEnded, type JobRecord } from "../types.ts";
import { JobLive, type TaskLive } from "./job-live.ts";

/** Tasks drawn on the charts; past this many the lines would be unreadable anyway. */
const CHART_TASKS = 16;

/** One job: its state, live loss and accuracy curves per task, its tasks and its events. */
export function JobView({ jobId }: { jobId: string }) {
  const [, redraw] = useReducer((n: number, _: null) => n + 1, 0);
  const live = useMemo(() => new JobLive(jobId, () => redraw(null)), [jobId]);
  useEffect(() => () => live.close(), [live]);
  const tasks = [...live.tasks.values()].sort((a, b) => a.index - b.index);
  const job = live.record && withTaskCounts(live.record, tasks);
  const charted = tasks.slice(0, CHART_TASKS);
  const lossLines: Line[] = charted.map((t) => ({
    label: `task ${t.index}`,
    points: t.loss_by_epoch,
  }));
  const accuracyLines: Line[] = charted.map((t) => ({
    label: `task ${t.index}`,
    points: t.accuracy_by_epoch,
  }));

  return (
    <section aria-labelledby="job-title">
      <p class="crumbs">
        <a href="#/jobs">Jobs</a> / <span class="mono">{jobId}</span>
      </p>
      {live.error && <Problem>{live.error}</Problem>}
      {!job ? (
        !live.error && <p class="muted">Loading the job…</p>
      ) : (
        <>
          <header class="job-head">
            <h1 id="job-title">
              {job.name} <Status status={job.status} />
            </h1>
            {!isEnded(job.status) && <CancelButton jobId={jobId} />}
          </header>
          <div class="figures">
            <Figure
              label="tasks completed"
              value={
                <Progress
                  value={job.progress}
                  text={`${job.completed_tasks}/${job.total_tasks}`}
                  label="tasks completed"
                  tone={job.failed_tasks > 0 ? "bad" : job.status === "COMPLETED" ? "ok" : "run"}
                />
              }
            />
            <Figure label="loss" value={fmtLoss(job.metrics.loss)} />
            <Figure label="accuracy" value={fmtPercent(job.metrics.accuracy)} />
            <Figure label="failed tasks" value={job.failed_tasks} />
            <Figure label="retries" value={job.retries} />
            <Figure label="ran" value={ran(job.started_at, job.finished_at)} />
          </div>
          {job.error && <Problem>{job.error}</Problem>}
          <dl class="facts">
            <dt>job</dt>
            <dd class="mono">{job.job_id}</dd>
            <dt>model</dt>
            <dd>
              {job.model_type}, {job.spec.epochs} epochs,{" "}
              {job.spec.dataset.samples.toLocaleString()} rows × {job.spec.dataset.features}{" "}
              features
            </dd>
            <dt>priority</dt>
            <dd>{job.priority}</dd>
            <dt>user</dt>
            <dd>{job.user_id}</dd>
            <dt>submitted</dt>
            <dd>
              {fmtTime(job.created_at)} ({fmtAgo(job.created_at)})
            </dd>
          </dl>
          <div class="charts">
            <Chart title="Loss by epoch" lines={lossLines} unit="number" />
            <Chart title="Accuracy by epoch" lines={accuracyLines} unit="percent" />
          </div>
          {tasks.length > CHART_TASKS && (
            <p class="muted">The charts show the first {CHART_TASKS} tasks.</p>
          )}
          <p class="muted small">
            Curves show the epochs reported while this page is open (progress is sent at most every
            250 ms per task, so fast epochs may be merged).
          </p>
          <h2>Tasks</h2>
          <TaskTable tasks={tasks} total={job.total_tasks} />
          <h2>Events</h2>
          <ol class="log" aria-label="job events">
            {live.log.map((line) => (
              <li key={line.id}>
                <time class="mono muted">{line.at.slice(11, 23)}</time> {line.text}
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}

/**
 * The record's counts, or the tasks' own when ahead: the job's events come with its state changes,
 * its tasks' events with each task's end.
 */
function withTaskCounts(record: JobRecord, tasks: TaskLive[]): JobRecord {
  const completed = tasks.filter((t) => t.status === "COMPLETED").length;
  const failed = tasks.filter((t) => t.status === "FAILED").length;
  if (completed <= record.completed_tasks && failed <= record.failed_tasks) return record;
  const done = Math.max(completed, record.completed_tasks);
  return {
    ...record,
    completed_tasks: done,
    failed_tasks: Math.max(failed, record.failed_tasks),
    progress: done / Math.max(1, record.total_tasks),
  };
}

function ran(started: string | null, finished: string | null): string {
  if (!started) return "—";
  return fmtDuration((finished ? Date.parse(finished) : Date.now()) - Date.parse(started));
}

/** Rows in the tasks table; a job may have 1,000 tasks. */
const TABLE_TASKS = 200;

function TaskTable({ tasks, total }: { tasks: TaskLive[]; total: number }) {
  const shown = tasks.slice(0, TABLE_TASKS);
  return (
    <div class="scroll">
      <table class="tasks">
        <thead>
          <tr>
            <th>task</th>
            <th>state</th>
            <th>epoch</th>
            <th class="num">loss</th>
            <th class="num">accuracy</th>
            <th class="num">attempt</th>
            <th class="wide">worker</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((task) => (
            <tr key={task.index}>
              <td>{task.index}</td>
              <td>
                <Status status={task.status} />
                {task.error && <div class="small bad">{task.error}</div>}
              </td>
              <td>
                <Progress
                  value={task.epoch / Math.max(1, task.epochs)}
                  text={`${task.epoch}/${task.epochs}`}
                  label={`task ${task.index} epochs`}
                  tone={
                    task.status === "FAILED" ? "bad" : task.status === "COMPLETED" ? "ok" : "run"
                  }
                />
              </td>
              <td class="num">{fmtLoss(task.loss)}</td>
              <td class="num">{fmtPercent(task.accuracy)}</td>
              <td class="num">{task.attempt}</td>
              <td class="wide mono small">{task.worker}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {total > shown.length && (
        <p class="muted small">
          The first {shown.length} of {total} tasks.
        </p>
      )}
    </div>
  );
}

function CancelButton({ jobId }: { jobId: string }) {
  const [state, setState] = useState<"idle" | "busy" | string>("idle");
  const cancel = async () => {
    if (!confirm(`Cancel ${jobId}? Its running tasks are stopped.`)) return;
    setState("busy");
    try {
      await api(`/api/v1/jobs/${encodeURIComponent(jobId)}/cancel`, { method: "POST" });
      setState("idle");
    } catch (error) {
      setState((error as Error).message);
    }
  };
  return (
    <span>
      <button type="button" class="danger" onClick={cancel} disabled={state === "busy"}>
        Cancel job
      </button>
      {state !== "idle" && state !== "busy" && <span class="bad small"> {state}</span>}
    </span>
  );
}
