import { beforeAll, describe, expect, it } from "vitest";
import { startNats } from "../support/nats.ts";
import { startTroupes } from "../support/troupe-process.ts";
import { readSse, type SseFrame } from "./sse.ts";

// A real troupe process: the HTTP facade in front of the real pipeline.
let base: string;

beforeAll(async () => {
  const nats = await startNats();
  const [troupe] = await startTroupes(1, nats.url, { MAX_CONCURRENT_TASKS: "2" });
  base = (await troupe?.waitForLog("troupe started"))?.http as string;
});

async function submit(spec: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${base}/api/v1/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(spec),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { job_id: string }).job_id;
}

describe("the HTTP facade over a running pipeline", () => {
  it("streams a running job's epochs in order over SSE and ends with its final state", async () => {
    const jobId = await submit({
      model_type: "neural_network",
      dataset: { samples: 4_000, features: 12, seed: 4 },
      epochs: 5,
      tasks: 2,
    });
    const res = await fetch(`${base}/api/v1/jobs/${jobId}/events`);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const frames: SseFrame[] = [];
    for await (const frame of readSse(res)) frames.push(frame);

    const events = frames.filter(
      (f): f is { event: string; data: Record<string, unknown> } => "event" in f,
    );
    expect(events[0]?.event).toBe("state");
    expect(events.at(-1)?.event).toBe("end");
    expect((events.at(-1)?.data as { status?: string } | undefined)?.status).toBe("COMPLETED");
    for (const task of [0, 1]) {
      const epochs = events
        .filter(
          (e) => e.event === "task" && e.data.task_index === task && e.data.epoch !== undefined,
        )
        .map((e) => e.data.epoch);
      // The stream joined while the job ran: it sees the epochs from some point on, in order.
      expect(epochs.length).toBeGreaterThan(0);
      expect(epochs).toEqual([...epochs].sort((a, b) => Number(a) - Number(b)));
      expect(epochs.at(-1)).toBe(5);
    }
  });

  it("shows the job in /metrics once it has run", async () => {
    const jobId = await submit({
      model_type: "logistic_regression",
      dataset: { samples: 600, features: 8 },
      epochs: 2,
      tasks: 3,
    });
    // The event stream ends when the job does.
    let last: SseFrame | undefined;
    for await (const frame of readSse(await fetch(`${base}/api/v1/jobs/${jobId}/events`)))
      last = frame;
    expect(last && "data" in last ? (last.data as { status: string }).status : undefined).toBe(
      "COMPLETED",
    );
    const text = await (await fetch(`${base}/metrics`)).text();
    const value = (line: RegExp) =>
      Number(
        text
          .split("\n")
          .find((l) => line.test(l))
          ?.split(" ")
          .at(-1),
      );
    expect(value(/^orchestrator_jobs_total\{status="completed"\}/)).toBeGreaterThanOrEqual(1);
    expect(
      value(/^worker_tasks_completed_total\{status="completed",model_type="logistic_regression"\}/),
    ).toBe(3);
    const durations = new RegExp(
      `^worker_task_duration_seconds_count\\{model_type="logistic_regression",job_id="${jobId}"\\}`,
    );
    expect(value(durations)).toBe(3);
    expect(value(/^orchestrator_job_duration_seconds_count/)).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain(`worker_training_loss{job_id="${jobId}"`);
  });
});
