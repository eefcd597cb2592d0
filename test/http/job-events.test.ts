import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HttpServer } from "../../src/http/server.ts";
import type { JobState } from "../../src/jobs/job-state.ts";
import { freePort } from "../support/free-port.ts";
import { readSse, type SseFrame } from "./sse.ts";
import { eventually, type HttpFixture, spec, startHttpFixture } from "./support.ts";

let fx: HttpFixture;
let server: HttpServer;
let url: string;
let monitorPort: number;

beforeAll(async () => {
  monitorPort = await freePort();
  // NATS monitoring shows each connection's subscriptions: proof that a stream frees its own.
  fx = await startHttpFixture({ natsArgs: ["-m", String(monitorPort)] });
  ({ server, url } = await fx.serve({ sseKeepAliveMs: 100 }));
});
afterAll(() => fx.close());

async function submit(): Promise<string> {
  const res = await fetch(`${url}/api/v1/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(spec({ tasks: 2, epochs: 3 })),
  });
  return ((await res.json()) as { job_id: string }).job_id;
}

async function moveJob(jobId: string, ...states: JobState[]): Promise<void> {
  for (const status of states) {
    await fx.gateway.jobs.update(jobId, (job) => ({
      ...job,
      status,
      completed_tasks: status === "COMPLETED" ? job.total_tasks : 0,
      progress: status === "COMPLETED" ? 1 : 0,
      metrics: status === "COMPLETED" ? { loss: 0.21, accuracy: 0.93 } : job.metrics,
    }));
  }
}

function jobEvent(jobId: string, status: string, progress = 0) {
  fx.events.job({
    job_id: jobId,
    status,
    completed_tasks: 0,
    failed_tasks: 0,
    total_tasks: 2,
    progress,
    error: null,
  });
}

/** Frames without keep-alive comments. */
// biome-ignore lint/suspicious/noExplicitAny: the JSON is asserted field by field
async function* framesOf(res: Response): AsyncGenerator<{ event: string; data: any }> {
  for await (const frame of readSse(res)) if ("event" in frame) yield frame;
}

async function subscriptionsFor(jobId: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${monitorPort}/connz?subs=1`);
  const connz = (await res.json()) as { connections: { subscriptions_list?: string[] }[] };
  return connz.connections
    .flatMap((c) => c.subscriptions_list ?? [])
    .filter((s) => s.includes(jobId)).length;
}

describe("GET /api/v1/jobs/:id/events", () => {
  it("streams the current state, then the epochs of each task in order, and ends with the final state", async () => {
    const jobId = await submit();
    const res = await fetch(`${url}/api/v1/jobs/${jobId}/events`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const frames = framesOf(res);
    const first = await frames.next();
    expect(first.value).toMatchObject({
      event: "state",
      data: { job_id: jobId, status: "SUBMITTED" },
    });

    await moveJob(jobId, "QUEUED", "RUNNING");
    jobEvent(jobId, "RUNNING");
    for (let epoch = 1; epoch <= 3; epoch++) {
      for (const task_index of [0, 1]) {
        const loss = 1 / (epoch + task_index);
        fx.events.task({
          job_id: jobId,
          task_index,
          status: "RUNNING",
          attempt: 1,
          worker_id: "w1",
          epoch,
          epochs: 3,
          loss,
          accuracy: 0.5 + epoch / 10,
        });
      }
    }
    await moveJob(jobId, "COMPLETED");
    jobEvent(jobId, "COMPLETED", 1);

    // biome-ignore lint/suspicious/noExplicitAny: the JSON is asserted field by field
    const rest: { event: string; data: any }[] = [];
    for await (const frame of frames) rest.push(frame);
    expect(rest.map((f) => f.event)).toEqual(["job", ...Array(6).fill("task"), "job", "end"]);
    expect(rest[0]?.data).toMatchObject({ type: "job", status: "RUNNING" });
    for (const task_index of [0, 1]) {
      const epochs = rest.filter((f) => f.data.task_index === task_index).map((f) => f.data.epoch);
      expect(epochs).toEqual([1, 2, 3]);
    }
    expect(rest.at(-2)?.data).toMatchObject({ type: "job", status: "COMPLETED", progress: 1 });
    expect(rest.at(-1)?.data).toMatchObject({
      job_id: jobId,
      status: "COMPLETED",
      progress: 1,
      metrics: { loss: 0.21, accuracy: 0.93 },
    });
    await eventually(async () => server.openEventStreams === 0, "the stream is released");
  });

  it("sends the state and the end at once for a job that already ended", async () => {
    const jobId = await submit();
    await (await fetch(`${url}/api/v1/jobs/${jobId}/cancel`, { method: "POST" })).arrayBuffer();
    const res = await fetch(`${url}/api/v1/jobs/${jobId}/events`);
    // biome-ignore lint/suspicious/noExplicitAny: the JSON is asserted field by field
    const frames: { event: string; data: any }[] = [];
    for await (const frame of framesOf(res)) frames.push(frame);
    expect(frames.map((f) => [f.event, f.data.status])).toEqual([
      ["state", "CANCELLED"],
      ["end", "CANCELLED"],
    ]);
  });

  it("sends keep-alive comments while the job is quiet", async () => {
    const jobId = await submit();
    const controller = new AbortController();
    const res = await fetch(`${url}/api/v1/jobs/${jobId}/events`, { signal: controller.signal });
    const seen: SseFrame[] = [];
    for await (const frame of readSse(res)) {
      seen.push(frame);
      if ("comment" in frame) break;
    }
    controller.abort();
    expect(seen[0]).toMatchObject({ event: "state" });
    expect(seen.at(-1)).toEqual({ comment: "keep-alive" });
  });

  it("frees the job's NATS subscriptions when the client disconnects", async () => {
    const jobId = await submit();
    const controller = new AbortController();
    const res = await fetch(`${url}/api/v1/jobs/${jobId}/events`, { signal: controller.signal });
    const frames = framesOf(res);
    expect((await frames.next()).value).toMatchObject({ event: "state" });
    // The job's events, its task events and its chunk events.
    expect(await subscriptionsFor(jobId)).toBe(3);
    expect(server.openEventStreams).toBeGreaterThanOrEqual(1);

    controller.abort();
    await frames.return(undefined).catch(() => undefined);
    await eventually(
      async () => (await subscriptionsFor(jobId)) === 0,
      "the subscriptions are gone",
    );
    await eventually(async () => server.openEventStreams === 0, "the stream is released");
  });

  it("answers 404 as a problem for an unknown job and 400 for a malformed id", async () => {
    const missing = await fetch(`${url}/api/v1/jobs/job_000000000aaaaaaaaaa/events`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(await missing.json()).toMatchObject({ code: "TROUPE_ERR_JOB_NOT_FOUND" });
    const malformed = await fetch(`${url}/api/v1/jobs/nope/events`);
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ errors: [{ path: "/id" }] });
    expect(await subscriptionsFor("job_000000000aaaaaaaaaa")).toBe(0);
  });
});
