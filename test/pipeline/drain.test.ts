import { describe, expect, it } from "vitest";
import { type ApiClient, apiClient } from "../support/api-client.ts";
import { submit, waitForJob } from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";
import { outcomesRecorded } from "../support/results.ts";
import { startTroupes, type TroupeProcess } from "../support/troupe-process.ts";

/** The contract: a task handed back by a draining worker runs elsewhere within this. */
const RESTART_ELSEWHERE_MS = 1_000;

/** Tasks of about a second or two each on this machine: long enough to be caught running. */
const drainSpec = (tasks: number, epochs: number) => ({
  model_type: "neural_network",
  dataset: { samples: 20_000, features: 20, seed: 3 },
  epochs,
  tasks,
});

interface Seen {
  subject: string;
  status?: string;
  event?: string;
  task_index?: number;
  worker_id: string;
  epoch?: number;
  reason?: string;
  at: string;
}

/** Every task state change and worker event from now on, in arrival order; `until` waits on them. */
function watch(client: ApiClient) {
  const seen: Seen[] = [];
  const waiters = new Set<() => void>();
  const decoder = new TextDecoder();
  for (const subject of ["troupe.events.task.>", "troupe.events.worker.>"]) {
    client.nc.subscribe(subject, {
      callback: (_error, msg) => {
        const event = JSON.parse(decoder.decode(msg.data)) as Seen;
        if (event.epoch !== undefined || event.event === "heartbeat") return;
        seen.push({ ...event, subject: msg.subject });
        for (const waiter of waiters) waiter();
      },
    });
  }
  return {
    seen,
    tasks: () => seen.filter((e) => e.subject.startsWith("troupe.events.task.")),
    /** Resolves once `test` holds over what has been seen. */
    until(test: (all: Seen[]) => boolean): Promise<void> {
      if (test(seen)) return Promise.resolve();
      return new Promise((resolve) => {
        const waiter = () => {
          if (!test(seen)) return;
          waiters.delete(waiter);
          resolve();
        };
        waiters.add(waiter);
      });
    },
  };
}

async function workerIdOf(troupe: TroupeProcess): Promise<string> {
  return (await troupe.waitForLog("worker registered")).workerId as string;
}

function runningOn(events: Seen[], workerId: string): Set<number | undefined> {
  return new Set(
    events
      .filter((e) => e.status === "RUNNING" && e.worker_id === workerId)
      .map((e) => e.task_index),
  );
}

/** Results ever stored in the results bucket: each message is one recording (KV create only). */
async function resultsRecorded(client: ApiClient): Promise<number> {
  return outcomesRecorded(client.nc);
}

describe("graceful drain on SIGTERM", () => {
  it("lets running tasks finish within DRAIN_TIMEOUT, leaves DRAINING then gone, hands its job back and exits 0", async () => {
    const nats = await startNats();
    const [draining] = await startTroupes(1, nats.url, { MAX_CONCURRENT_TASKS: "4" });
    if (!draining) throw new Error("no troupe");
    const drainingId = await workerIdOf(draining);
    const client = await apiClient(nats.url);
    const watcher = watch(client);
    const jobId = await submit(client, drainSpec(4, 16));
    await watcher.until((all) => runningOn(all, drainingId).size === 4);

    draining.signal("SIGTERM");
    expect(await draining.exited).toEqual({ code: 0, signal: null });

    const tasks = watcher.tasks().filter((e) => e.status !== "RUNNING");
    expect(tasks.map((e) => [e.task_index, e.status, e.worker_id]).sort()).toEqual(
      [0, 1, 2, 3].map((i) => [i, "COMPLETED", drainingId]),
    );
    const own = watcher.seen.filter((e) => e.subject === `troupe.events.worker.${drainingId}`);
    expect(own.map((e) => e.event)).toEqual(["draining", "gone"]);
    expect(await resultsRecorded(client)).toBe(4);

    // The job's lease was handed back: a new process takes the job over and closes its books.
    await startTroupes(1, nats.url, { MAX_CONCURRENT_TASKS: "1" });
    const job = await waitForJob(client, jobId);
    expect(job.status).toBe("COMPLETED");
    expect(job.completed_tasks).toBe(4);
  });

  it("hands the tasks still running at DRAIN_TIMEOUT back at once: each restarts elsewhere in under 1 s and completes exactly once", async () => {
    const nats = await startNats();
    const [draining] = await startTroupes(1, nats.url, {
      MAX_CONCURRENT_TASKS: "10",
      DRAIN_TIMEOUT: "1500ms",
    });
    if (!draining) throw new Error("no troupe");
    const drainingId = await workerIdOf(draining);
    const client = await apiClient(nats.url);
    const watcher = watch(client);
    const jobId = await submit(client, drainSpec(10, 60));
    await watcher.until((all) => runningOn(all, drainingId).size === 10);

    // A peer with free slots (it finds nothing queued: all ten tasks run in the first process).
    const [peer] = await startTroupes(1, nats.url, { MAX_CONCURRENT_TASKS: "10" });
    if (!peer) throw new Error("no peer");
    const peerId = await workerIdOf(peer);
    draining.signal("SIGTERM");
    expect(await draining.exited).toEqual({ code: 0, signal: null });

    const job = await waitForJob(client, jobId);
    expect(job.status).toBe("COMPLETED");
    expect(job.completed_tasks).toBe(10);
    const tasks = watcher.tasks();
    const completed = tasks.filter((e) => e.status === "COMPLETED").map((e) => e.task_index);
    expect(completed.sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(await resultsRecorded(client)).toBe(10);

    const handedBack = tasks.filter((e) => e.status === "QUEUED" && e.worker_id === drainingId);
    expect(handedBack.length).toBeGreaterThan(0);
    const latencies = handedBack.map((back) => {
      const next = tasks.find(
        (e) =>
          e.status === "RUNNING" &&
          e.task_index === back.task_index &&
          Date.parse(e.at) >= Date.parse(back.at) &&
          tasks.indexOf(e) > tasks.indexOf(back),
      );
      expect(next?.worker_id).toBe(peerId);
      return Date.parse(next?.at ?? "") - Date.parse(back.at);
    });
    console.log(
      `drain: ${handedBack.length} of 10 tasks handed back; restart elsewhere after ${latencies.join(", ")} ms`,
    );
    for (const ms of latencies) expect(ms).toBeLessThan(RESTART_ELSEWHERE_MS);
    expect(handedBack.every((e) => e.reason === "handed back: worker draining")).toBe(true);
  }, 90_000);

  it("exits at once with code 130 on a second signal, even with tasks still running", async () => {
    const nats = await startNats();
    const [troupe] = await startTroupes(1, nats.url, { MAX_CONCURRENT_TASKS: "2" });
    if (!troupe) throw new Error("no troupe");
    const troupeId = await workerIdOf(troupe);
    const client = await apiClient(nats.url);
    const watcher = watch(client);
    await submit(client, drainSpec(2, 1000));
    await watcher.until((all) => runningOn(all, troupeId).size === 2);

    troupe.signal("SIGTERM");
    await troupe.waitForLog("shutting down (send the signal again to force)");
    troupe.signal("SIGTERM");
    expect(await troupe.exited).toEqual({ code: 130, signal: null });
  });
});
