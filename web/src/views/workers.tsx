import { api } from "../api.ts";
import { Figure, Loading, Problem, Progress, Status } from "../components/bits.tsx";
import { fmtAgo, fmtPercent } from "../format.ts";
import { usePoll } from "../hooks.ts";
import type { WorkerActivity, WorkerRecord } from "../types.ts";

/** The workers (one per troupe process): their state, load and the tasks they run now. */
export function WorkersView() {
  const { data, error } = usePoll(
    (signal) => api<WorkerActivity>("/api/v1/workers", { signal }),
    "workers",
  );
  return (
    <section aria-labelledby="workers-title">
      <h1 id="workers-title">Workers</h1>
      {error && <Problem>Could not refresh the workers: {error}</Problem>}
      {!data ? (
        !error && <Loading what="workers" />
      ) : (
        <>
          <div class="figures">
            <Figure label="workers" value={data.total_workers} />
            <Figure label="active" value={data.active_workers} />
            <Figure label="busy" value={data.busy_workers} />
            <Figure
              label="tasks running"
              value={data.workers.reduce((sum, w) => sum + w.current_task_ids.length, 0)}
            />
          </div>
          {data.workers.length === 0 ? (
            <p class="muted">No worker is registered: start one with `troupe start`.</p>
          ) : (
            <ul class="cards">
              {data.workers.map((worker) => (
                <WorkerCard key={worker.worker_id} worker={worker} />
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}

function WorkerCard({ worker }: { worker: WorkerRecord }) {
  const slots = worker.capabilities.max_concurrent_tasks;
  const running = worker.current_task_ids.length;
  return (
    <li class="card" aria-label={`worker ${worker.worker_id}`}>
      <header>
        <span class="mono">{worker.worker_id}</span> <Status status={worker.status} />
      </header>
      <p class="muted small">
        {worker.hostname}, pid {worker.pid} · {worker.capabilities.cpu_cores} cores
        {worker.capabilities.memory_gb > 0 && ` · ${worker.capabilities.memory_gb} GB`} · last heard{" "}
        {fmtAgo(worker.last_activity_at)}
      </p>
      <dl class="meters">
        <dt>slots</dt>
        <dd>
          <Progress
            value={running / Math.max(1, slots)}
            text={`${running}/${slots}`}
            label="slots in use"
            tone="load"
          />
        </dd>
        <dt>CPU</dt>
        <dd>
          <Progress
            value={worker.cpu_share}
            text={fmtPercent(worker.cpu_share, 0)}
            label="CPU"
            tone="load"
          />
        </dd>
        <dt>memory</dt>
        <dd>
          <Progress
            value={worker.memory_share}
            text={fmtPercent(worker.memory_share, 0)}
            label="memory"
            tone="load"
          />
        </dd>
      </dl>
      <p class="small">
        {worker.tasks_completed} completed · {worker.tasks_failed} failed · {worker.tasks_retried}{" "}
        retried · {worker.tasks_cancelled} cancelled
      </p>
      {running > 0 && (
        <ul class="running small" aria-label="running tasks">
          {worker.current_task_ids.map((id) => {
            const [jobId, task] = id.split(".");
            return (
              <li key={id}>
                <a href={`#/jobs/${jobId}`} class="mono">
                  {jobId}
                </a>{" "}
                task {task}
              </li>
            );
          })}
        </ul>
      )}
    </li>
  );
}
