import { Component } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api.ts";
import { Loading, Problem, Progress, Status } from "../components/bits.tsx";
import { fmtLoss, fmtPercent, fmtWhen } from "../format.ts";
import { usePoll } from "../hooks.ts";
import { JOB_STATES, type JobList, type JobRecord } from "../types.ts";

/** The newest jobs read at each refresh: the API's largest page. */
const PAGE = 1000;

/**
 * The jobs, newest first, refreshed every few seconds: state and progress as they change. The
 * state and user filters go to the API; the text filter narrows what is loaded, as one types.
 */
export function JobsView() {
  const [status, setStatus] = useState("");
  const [user, setUser] = useState("");
  const [text, setText] = useState("");
  const query = new URLSearchParams({ limit: String(PAGE) });
  if (status) query.set("status", status);
  if (user.trim()) query.set("user_id", user.trim());
  const path = `/api/v1/jobs?${query}`;
  const { data, error } = usePoll((signal) => api<JobList>(path, { signal }), path);
  const needle = text.trim().toLowerCase();
  const jobs = (data?.jobs ?? []).filter(
    (job) =>
      !needle ||
      job.job_id.includes(needle) ||
      job.name.toLowerCase().includes(needle) ||
      job.model_type.includes(needle),
  );
  const rendered = useRef(false);
  useEffect(() => {
    // For bench/dashboard.ts: when the first rows with data reached the screen.
    if (!rendered.current && data) {
      rendered.current = true;
      performance.mark("troupe:jobs-rendered", { detail: { rows: jobs.length } });
    }
  });

  return (
    <section aria-labelledby="jobs-title">
      <h1 id="jobs-title">Jobs</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          State{" "}
          <select value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="">any</option>
            {JOB_STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          User{" "}
          <input
            value={user}
            placeholder="user_id"
            onChange={(e) => setUser(e.currentTarget.value)}
          />
        </label>
        <label>
          Find{" "}
          <input
            type="search"
            value={text}
            placeholder="name, id or model"
            onInput={(e) => setText(e.currentTarget.value)}
          />
        </label>
      </form>
      {error && <Problem>Could not refresh the jobs: {error}</Problem>}
      {!data ? (
        !error && <Loading what="jobs" />
      ) : (
        <>
          <p class="muted" aria-live="polite">
            {counts(jobs)}
            {data.next_cursor &&
              ` — the newest ${PAGE.toLocaleString()} shown; filter to see others`}
          </p>
          {jobs.length > 0 && (
            // Rows laid out as grids (styles.css), each alone, and those off screen not at all
            // (content-visibility): 1,000 jobs lay out about as fast as 20.
            <div class="scroll">
              <table class="jobs">
                <thead>
                  <tr>
                    <th>job</th>
                    <th>state</th>
                    <th>tasks</th>
                    <th class="num metric">loss</th>
                    <th class="num metric">accuracy</th>
                    <th class="wide">model</th>
                    <th class="wide">priority</th>
                    <th class="wide">user</th>
                    <th class="wide">submitted</th>
                  </tr>
                </thead>
                <tbody>
                  {jobs.map((job) => (
                    <JobRow key={job.job_id} job={job} />
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </section>
  );
}

function counts(jobs: JobRecord[]): string {
  if (jobs.length === 0) return "No jobs.";
  const by = new Map<string, number>();
  for (const job of jobs) by.set(job.status, (by.get(job.status) ?? 0) + 1);
  const parts = JOB_STATES.filter((s) => by.has(s)).map(
    (s) => `${(by.get(s) ?? 0).toLocaleString()} ${s.toLowerCase()}`,
  );
  return `${jobs.length.toLocaleString()} jobs: ${parts.join(", ")}`;
}

/** The fields a row shows: a row whose job did not change is not redrawn (1,000 rows a refresh). */
const signature = (job: JobRecord) =>
  `${job.status}|${job.completed_tasks}|${job.failed_tasks}|${job.metrics.loss}|${job.metrics.accuracy}`;

class JobRow extends Component<{ job: JobRecord }> {
  override shouldComponentUpdate(next: { job: JobRecord }): boolean {
    return signature(next.job) !== signature(this.props.job);
  }

  override render({ job }: { job: JobRecord }) {
    return (
      <tr>
        <td>
          <a href={`#/jobs/${job.job_id}`}>{job.name}</a>
          <span class="mono small muted block">{job.job_id}</span>
        </td>
        <td>
          <Status status={job.status} />
        </td>
        <td>
          <Progress
            value={job.progress}
            text={`${job.completed_tasks}/${job.total_tasks}`}
            label={`${job.name} tasks completed`}
            tone={job.failed_tasks > 0 ? "bad" : job.status === "COMPLETED" ? "ok" : "run"}
          />
        </td>
        <td class="num metric">{fmtLoss(job.metrics.loss)}</td>
        <td class="num metric">{fmtPercent(job.metrics.accuracy)}</td>
        <td class="wide">{job.model_type}</td>
        <td class="wide">{job.priority}</td>
        <td class="wide">{job.user_id}</td>
        <td class="wide" title={job.created_at}>
          {fmtWhen(job.created_at)}
        </td>
      </tr>
    );
  }
}
