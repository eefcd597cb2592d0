import { api } from "../api.ts";
import { Figure, Loading, Problem, Progress } from "../components/bits.tsx";
import { usePoll } from "../hooks.ts";
import { PRIORITIES, type QueueStatus } from "../types.ts";

/** Tasks waiting in each priority lane (urgent first), and running. */
export function QueueView() {
  const { data, error } = usePoll(
    (signal) => api<QueueStatus>("/api/v1/queue/status", { signal }),
    "queue",
  );
  const most = data ? Math.max(1, ...Object.values(data.queues)) : 1;
  return (
    <section aria-labelledby="queue-title">
      <h1 id="queue-title">Queue</h1>
      {error && <Problem>Could not refresh the queue: {error}</Problem>}
      {!data ? (
        !error && <Loading what="the queue" />
      ) : (
        <>
          <div class="figures">
            <Figure label="tasks waiting" value={data.pending} />
            <Figure label="tasks running" value={data.running} />
          </div>
          <table class="lanes">
            <caption class="muted small">
              Waiting tasks by priority; low work ages up, so it is never starved.
            </caption>
            <thead>
              <tr>
                <th>priority</th>
                <th class="num">waiting</th>
                <th class="grow">share</th>
              </tr>
            </thead>
            <tbody>
              {PRIORITIES.map((priority) => {
                const waiting = data.queues[priority] ?? 0;
                return (
                  <tr key={priority}>
                    <th scope="row">{priority}</th>
                    <td class="num">{waiting.toLocaleString()}</td>
                    <td class="grow">
                      <Progress
                        value={waiting / most}
                        text=""
                        label={`${priority} waiting`}
                        tone="load"
                      />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
