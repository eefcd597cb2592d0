import { describe, expect, it } from "vitest";
import { type ApiClient, apiClient } from "../support/api-client.ts";
import { getJob, type Job, longSpec, quickSpec, submit, waitForJob } from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";
import { spawnTroupe, startTroupes } from "../support/troupe-process.ts";

/** A 20-epoch neural network of one task, a few seconds long; the same seed every time. */
const twentyEpochs = () =>
  quickSpec({
    model_type: "neural_network",
    dataset: { samples: 20_000, features: 32, seed: 11 },
    epochs: 20,
    tasks: 1,
    hyperparameters: { learning_rate: 0.05, batch_size: 64, hidden_units: 32 },
  });

interface TaskEvent {
  job_id: string;
  status: string;
  epoch?: number;
  reason?: string;
}

/** Every task event of `jobId` (per-epoch progress included), in arrival order. */
function followTasks(client: ApiClient, jobId: string) {
  const events: TaskEvent[] = [];
  const waiters = new Set<() => void>();
  const decoder = new TextDecoder();
  client.nc.subscribe(`troupe.events.task.${jobId}.*`, {
    callback: (_error, msg) => {
      events.push(JSON.parse(decoder.decode(msg.data)) as TaskEvent);
      for (const waiter of waiters) waiter();
    },
  });
  const until = (holds: (seen: TaskEvent[]) => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (!holds(events)) return;
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
      check();
    });
  return { events, until };
}

const epochsOf = (events: TaskEvent[]) =>
  events.filter((e) => e.epoch !== undefined).map((e) => e.epoch as number);

/** Pauses `jobId` once a few epochs are trained, and waits for its task to stop. */
async function pauseAfterFewEpochs(
  client: ApiClient,
  jobId: string,
  tasks: ReturnType<typeof followTasks>,
): Promise<void> {
  await tasks.until((seen) => epochsOf(seen).some((epoch) => epoch >= 6));
  const paused = await client.request<Job>("troupe.jobs.pause", {
    job_id: jobId,
    reason: "let the urgent one through",
  });
  expect(paused.serviceError).toBeUndefined();
  expect(paused.body.status).toBe("PAUSED");
  // Its task stops, handed back (checkpointed) for the resume.
  await tasks.until((seen) => seen.some((e) => e.status === "QUEUED"));
}

describe("pause and resume", () => {
  it("stops a running job's tasks within an epoch, frees its slot, and resumes from the checkpoint to the same result", async () => {
    const nats = await startNats();
    await startTroupes(1, nats.url, { MAX_CONCURRENT_TASKS: "1" });
    const client = await apiClient(nats.url);
    const reference = await waitForJob(client, await submit(client, twentyEpochs()));
    expect(reference.status).toBe("COMPLETED");

    const jobId = await submit(client, twentyEpochs());
    const tasks = followTasks(client, jobId);
    await pauseAfterFewEpochs(client, jobId, tasks);
    const stoppedAt = tasks.events.length;
    // Progress is told at most every 250 ms, and flushed as the task stops: this is its last epoch.
    const trainedBeforePause = Math.max(...epochsOf(tasks.events));
    expect(trainedBeforePause).toBeLessThan(20);

    // The one slot is free: another job runs to the end while this one is paused.
    const other = await waitForJob(client, await submit(client, quickSpec({ tasks: 1 })));
    expect(other.status).toBe("COMPLETED");
    expect((await getJob(client, jobId)).status).toBe("PAUSED");
    expect(tasks.events.length).toBe(stoppedAt);

    const resumed = await client.request<Job>("troupe.jobs.resume", { job_id: jobId });
    expect(resumed.body.status).toBe("RUNNING");
    const done = await waitForJob(client, jobId);
    expect(done.status).toBe("COMPLETED");
    const afterResume = epochsOf(tasks.events.slice(stoppedAt));
    // Continued from the checkpoint, not from epoch 1.
    expect(afterResume[0]).toBeGreaterThan(trainedBeforePause);
    expect(done.metrics).toEqual(reference.metrics);
    const history = (done as Job & { history: { action: string; reason?: string }[] }).history;
    expect(history.map((h) => h.action)).toEqual(["pause", "resume"]);
    expect(history[0]?.reason).toBe("let the urgent one through");
  }, 60_000);

  it("survives the kill -9 of every process while paused, and resumes in a new one", async () => {
    const nats = await startNats();
    const [first] = await startTroupes(1, nats.url, { MAX_CONCURRENT_TASKS: "1" });
    const client = await apiClient(nats.url);
    const reference = await waitForJob(client, await submit(client, twentyEpochs()));

    const jobId = await submit(client, twentyEpochs());
    const tasks = followTasks(client, jobId);
    await pauseAfterFewEpochs(client, jobId, tasks);
    const stoppedAt = tasks.events.length;
    const trainedBeforePause = Math.max(...epochsOf(tasks.events));
    first?.signal("SIGKILL");
    await first?.exited;

    const second = spawnTroupe({
      env: {
        NATS_URL: nats.url,
        PORT: "0",
        HEARTBEAT_INTERVAL: "500ms",
        WORKER_TIMEOUT: "3s",
        MAX_CONCURRENT_TASKS: "1",
      },
    });
    await second.waitForLog("troupe started", 60_000);
    expect((await getJob(client, jobId)).status).toBe("PAUSED");
    await client.request("troupe.jobs.resume", { job_id: jobId });
    const done = await waitForJob(client, jobId);
    expect(done.status).toBe("COMPLETED");
    expect(epochsOf(tasks.events.slice(stoppedAt))[0]).toBeGreaterThan(trainedBeforePause);
    expect(done.metrics).toEqual(reference.metrics);
  }, 60_000);

  it("pauses a queued job and refuses what cannot be paused or resumed, naming both states", async () => {
    const nats = await startNats();
    await startTroupes(1, nats.url, { MAX_CONCURRENT_TASKS: "1" });
    const client = await apiClient(nats.url);
    const done = await waitForJob(client, await submit(client, quickSpec({ tasks: 1 })));
    const cases: [string, unknown, string, RegExp][] = [
      [
        "troupe.jobs.pause",
        { job_id: done.job_id },
        "409",
        /cannot pause .*it is COMPLETED.*QUEUED or RUNNING/,
      ],
      [
        "troupe.jobs.resume",
        { job_id: done.job_id },
        "409",
        /cannot resume .*it is COMPLETED.*PAUSED/,
      ],
      ["troupe.jobs.pause", { job_id: "job_0000000000000000000" }, "404", /no job/],
      ["troupe.jobs.pause", { job_id: "nope" }, "400", /\/job_id/],
      ["troupe.jobs.resume", { job_id: done.job_id, why: "x" }, "400", /\/why: unknown field/],
    ];
    for (const [subject, body, code, message] of cases) {
      const reply = await client.request<{ error: { message: string } }>(subject, body);
      expect(reply.serviceErrorCode, JSON.stringify(body)).toBe(code);
      expect(reply.body.error.message).toMatch(message);
    }

    // A queued job: paused, it is passed over; resumed, it is queued again and runs.
    const blocker = await submit(client, longSpec({ tasks: 1 }));
    await waitForJob(client, blocker, 20_000, (job) => job.status === "RUNNING");
    const queued = await submit(client, quickSpec({ tasks: 2 }));
    await waitForJob(client, queued, 20_000, (job) => job.status === "QUEUED");
    expect((await client.request<Job>("troupe.jobs.pause", { job_id: queued })).body.status).toBe(
      "PAUSED",
    );
    const paused = await client.request("troupe.queue.status", {});
    expect(paused.body).toMatchObject({ paused_jobs: 1, queue_length: 0 });
    await client.request("troupe.jobs.cancel", { job_id: blocker });
    const after = await waitForJob(client, await submit(client, quickSpec({ tasks: 1 })));
    expect(after.status).toBe("COMPLETED");
    expect((await getJob(client, queued)).status).toBe("PAUSED");
    expect((await client.request<Job>("troupe.jobs.resume", { job_id: queued })).body.status).toBe(
      "QUEUED",
    );
    expect((await waitForJob(client, queued)).status).toBe("COMPLETED");
  });
});
