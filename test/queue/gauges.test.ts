import { describe, expect, it } from "vitest";
import { apiClient } from "../support/api-client.ts";
import { collectTaskEvents, longSpec, submit } from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";
import { startTroupes } from "../support/troupe-process.ts";

/** One gauge's value in a Prometheus exposition text. */
function gauge(text: string, name: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** Scrapes `url` until `holds` says the gauges read what the test expects (they are sampled). */
async function scrapeUntil(url: string, holds: (text: string) => boolean): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const text = await (await fetch(`${url}/metrics`)).text();
    if (holds(text) || Date.now() > deadline) return text;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe("the queue and worker gauges", () => {
  it("read the real queued tasks and live workers in a running 2-process cluster", async () => {
    const nats = await startNats();
    const processes = await startTroupes(2, nats.url, { MAX_CONCURRENT_TASKS: "1" });
    const urls = await Promise.all(
      processes.map(async (p) => (await p.waitForLog("troupe started")).http as string),
    );
    const client = await apiClient(nats.url);
    const seen = collectTaskEvents(client);
    const jobId = await submit(client, longSpec({ tasks: 6 }));
    // Two slots in the cluster: two tasks run, four wait.
    await seen.until(
      (events) =>
        new Set(events.filter((e) => e.status === "RUNNING").map((e) => e.task_index)).size === 2,
    );

    for (const url of urls) {
      const text = await scrapeUntil(
        url,
        (t) =>
          gauge(t, "orchestrator_tasks_queued") === 4 &&
          gauge(t, "orchestrator_active_workers") === 2,
      );
      expect(gauge(text, "orchestrator_tasks_queued")).toBe(4);
      expect(gauge(text, "orchestrator_active_workers")).toBe(2);
    }
    const status = await client.request("troupe.queue.status", {});
    expect(status.body).toMatchObject({
      queues: { urgent: 0, high: 0, normal: 4, low: 0 },
      pending: 4,
      running: 2,
      running_jobs: 1,
      queue_length: 0,
    });

    // The job ends: nothing is queued any more, on every process's gauge.
    await client.request("troupe.jobs.cancel", { job_id: jobId });
    for (const url of urls) {
      const text = await scrapeUntil(url, (t) => gauge(t, "orchestrator_tasks_queued") === 0);
      expect(gauge(text, "orchestrator_tasks_queued")).toBe(0);
    }
  }, 60_000);
});
