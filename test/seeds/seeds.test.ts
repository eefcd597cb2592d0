/**
 * Each documented example of the five seed services that concerns something Troupe has, sent as
 * written (only host and port changed; what else changed is said in the fixture), gets the
 * documented kind of answer. The examples are the fixtures in fixtures/, one test each, named by
 * seed and example; the JSON schemas in schemas/ are written from the seeds' own examples.
 */
import { existsSync, readFileSync } from "node:fs";
import { totalmem } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { startCommand } from "../../src/cli/start.ts";
import { getJob, quickSpec, submit, waitForJob } from "../support/jobs.ts";
import {
  type Example,
  loadFixtures,
  parseSeries,
  type SeedCluster,
  schemaProblemsOf,
  startSeedCluster,
} from "./cluster.ts";

const fixtures = loadFixtures();
let cluster: SeedCluster;

beforeAll(async () => {
  cluster = await startSeedCluster(fixtures);
  // Real jobs first, so the metrics the examples read have something to show.
  const jobs = await Promise.all(
    [1, 2, 3].map(() => submit(cluster.nats, quickSpec({ tasks: 4 }))),
  );
  for (const jobId of jobs)
    expect((await waitForJob(cluster.nats, jobId)).status).toBe("COMPLETED");
}, 120_000);

/** Sends an example's request as written; resolves with the status and the parsed body. */
async function send(example: Example): Promise<{ status: number; body: unknown; text: string }> {
  const request = example.request ?? {};
  if (request.subject) {
    const reply = await cluster.nats.request(request.subject, request.body ?? {});
    return {
      status: reply.serviceErrorCode ? Number(reply.serviceErrorCode) : 200,
      body: reply.body,
      text: "",
    };
  }
  const headers = Object.fromEntries(
    Object.entries(request.headers ?? {}).map(([k, v]) => [k, cluster.fill(v)]),
  );
  const body =
    request.body === undefined
      ? undefined
      : typeof request.body === "string"
        ? request.body
        : JSON.stringify(request.body);
  const base = cluster.url(example.process ?? "B", example.listener);
  const res = await fetch(`${base}${request.path}`, {
    method: request.method ?? "GET",
    headers,
    body,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON (metrics, a page): the text is the answer.
  }
  return { status: res.status, body: parsed, text };
}

/** Every series of `name` in the cluster's scrapes (both processes, and B's metrics listener). */
async function scrapeCluster(): Promise<ReturnType<typeof parseSeries>> {
  const urls = [cluster.url("A"), cluster.url("B"), cluster.url("B", "metrics")];
  const texts = await Promise.all(urls.map(async (u) => (await fetch(`${u}/metrics`)).text()));
  return texts.flatMap(parseSeries);
}

function hasSeries(
  series: ReturnType<typeof parseSeries>,
  { name, labels = {} }: { name: string; labels?: Record<string, string> },
): boolean {
  return series.some(
    (s) =>
      s.name === name &&
      Object.entries(labels).every(([k, v]) => (v === "*" ? k in s.labels : s.labels[k] === v)),
  );
}

async function workerRecord(process: "A" | "B"): Promise<Record<string, unknown>> {
  const started = await cluster.processes[process].waitForLog("troupe started");
  const workers = (
    await cluster.nats.request<{ workers: Record<string, unknown>[] }>("troupe.workers.list", {})
  ).body.workers;
  const found = workers.find((w) => w.worker_id === started.workerId);
  if (!found) throw new Error(`no worker record for process ${process}`);
  return found;
}

async function check(example: Example): Promise<void> {
  const want = example.expect;
  if (example.request) {
    const { status, body, text } = await send(example);
    if (want.status !== undefined) expect(status, text.slice(0, 300)).toBe(want.status);
    if (want.schema) expect(schemaProblemsOf(want.schema, body)).toEqual([]);
    if (want.match) expect(body).toMatchObject(want.match);
    for (const needle of want.text ?? []) expect(text).toContain(needle);
    if (want.job) {
      const jobId = (body as { job_id: string }).job_id;
      const job = await waitForJob(cluster.nats, jobId);
      expect(job.status, job.error ?? "").toBe(want.job.status);
      expect(job.metrics.accuracy ?? 0).toBeGreaterThanOrEqual(want.job.min_accuracy ?? 0);
      if (want.job.match) expect(await getJob(cluster.nats, jobId)).toMatchObject(want.job.match);
    }
    if (want.metrics) {
      const series = parseSeries(text);
      for (const metric of want.metrics) expect(hasSeries(series, metric), metric.name).toBe(true);
    }
  } else if (want.metrics) {
    const series = await scrapeCluster();
    for (const metric of want.metrics) expect(hasSeries(series, metric), metric.name).toBe(true);
  }
  const process = example.process ?? "B";
  if (want.worker) expect(await workerRecord(process)).toMatchObject(want.worker);
  if (want.logs_at_level !== undefined) {
    const logs = cluster.processes[process].logs;
    expect(logs.some((l) => l.msg === "troupe started" && l.level === want.logs_at_level)).toBe(
      true,
    );
    expect(logs.every((l) => l.level >= (want.logs_at_level as number))).toBe(true);
  }
  if (want.log_file) {
    const file = join(cluster.dir, want.log_file);
    expect(existsSync(file)).toBe(true);
    expect(readFileSync(file, "utf8")).toContain('"msg":"troupe started"');
  }
}

for (const fixture of fixtures) {
  describe(`seed ${fixture.seed}, ${fixture.service}`, () => {
    for (const example of fixture.examples) {
      it(`${example.name} (${example.section})`, () => check(example), 120_000);
    }
  });
}

describe("what the seeds show that a fixture cannot", () => {
  it("seed 000: capabilities report the machine's memory_gb and the configured gpu_count", async () => {
    const memoryGb = Math.round((totalmem() / 2 ** 30) * 10) / 10;
    expect(await workerRecord("A")).toMatchObject({
      capabilities: { memory_gb: memoryGb, gpu_count: 1, max_concurrent_tasks: 1 },
    });
    // B's memory is configured (WORKER_MEMORY_GB, see cluster.ts): that is what it reports.
    expect(await workerRecord("B")).toMatchObject({
      capabilities: { memory_gb: 16, gpu_count: 0 },
    });
    expect(memoryGb).toBeGreaterThan(0);
  });

  it("seed 004: worker_training_loss{job_id,task_id} is there while a task trains", async () => {
    const jobId = await submit(
      cluster.nats,
      quickSpec({
        model_type: "neural_network",
        epochs: 200,
        tasks: 1,
        dataset: { samples: 4000 },
      }),
    );
    const deadline = Date.now() + 60_000;
    let found = false;
    while (!found && Date.now() < deadline) {
      found = hasSeries(await scrapeCluster(), {
        name: "worker_training_loss",
        labels: { job_id: jobId, task_id: `${jobId}.0` },
      });
      // Polled: no event says when a scrape would see it.
      if (!found) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await cluster.nats.request("troupe.jobs.cancel", { job_id: jobId });
    expect(found).toBe(true);
  });

  it("seed 004: every epoch's progress event has its loss, accuracy and validation loss", async () => {
    const events: Record<string, unknown>[] = [];
    // Subscribed before the submit, so no epoch is missed.
    const sub = cluster.nats.nc.subscribe("troupe.events.task.>", {
      callback: (_error, msg) => {
        events.push(msg.json());
      },
    });
    await cluster.nats.nc.flush();
    const jobId = await submit(
      cluster.nats,
      quickSpec({ model_type: "neural_network", epochs: 3, tasks: 1, dataset: { samples: 4000 } }),
    );
    await waitForJob(cluster.nats, jobId);
    sub.unsubscribe();
    const epochs = events.filter((e) => e.job_id === jobId && e.epoch !== undefined);
    // Progress is coalesced to a few events a second: the last epoch is always told.
    expect(epochs.at(-1)?.epoch).toBe(3);
    for (const event of epochs) {
      expect(event).toMatchObject({
        loss: expect.any(Number),
        accuracy: expect.any(Number),
        validation_loss: expect.any(Number),
      });
    }
  });
});

describe("a bad value of a seed's setting stops start-up, naming the variable", () => {
  it.each([
    ["ORCHESTRATOR_TOKEN", "dev-token", "at least 16 characters"],
    ["HEARTBEAT_TTL_SEC", "two minutes", "a plain number is seconds"],
    ["LOG_LEVEL", "VERBOSE", "warning, critical"],
    ["WORKER_ID", "worker 1", "letters, digits, - and _"],
    ["METRICS_PORT", "http", "TCP port"],
    ["LOG_MAX_BYTES", "5MB", "whole number of bytes"],
  ])("%s=%j: troupe start exits 2 saying so", async (name, value, form) => {
    const written: string[] = [];
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation((text) => {
      written.push(String(text));
      return true;
    });
    try {
      expect(await startCommand({ [name]: value, NATS_URL: "nats://127.0.0.1:1" })).toBe(2);
    } finally {
      stderr.mockRestore();
    }
    expect(written.join("")).toContain(`troupe: ${name}=${JSON.stringify(value)} is invalid`);
    expect(written.join("")).toContain(form);
  });
});
