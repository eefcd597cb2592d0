import { readFileSync } from "node:fs";
import { connect } from "@nats-io/transport-node";
import { beforeAll, describe, expect, it } from "vitest";
import { readSse } from "../http/sse.ts";
import { flowersCsv, uploadCsv as upload } from "../support/datasets.ts";
import { startNats } from "../support/nats.ts";
import { startTroupes, type TroupeProcess } from "../support/troupe-process.ts";
import { unzip } from "../support/unzip.ts";

// One real troupe process (HTTP door, pool threads) over a real nats-server.
let base: string;
let natsUrl: string;
let troupe: TroupeProcess;
const MAX_BYTES = 4 * 1024 * 1024;

beforeAll(async () => {
  const nats = await startNats();
  natsUrl = nats.url;
  [troupe] = (await startTroupes(1, nats.url, {
    MAX_CONCURRENT_TASKS: "2",
    MAX_DATASET_BYTES: String(MAX_BYTES),
  })) as [TroupeProcess];
  base = (await troupe.waitForLog("troupe started")).http as string;
});

function uploadCsv(name: string, csv: string | Uint8Array, query = "") {
  return upload(base, name, csv, query);
}

async function submit(spec: Record<string, unknown>): Promise<Response> {
  return fetch(`${base}/api/v1/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(spec),
  });
}

async function untilEnded(jobId: string): Promise<string> {
  let status = "";
  for await (const frame of readSse(await fetch(`${base}/api/v1/jobs/${jobId}/events`))) {
    if ("event" in frame && frame.event === "end")
      status = (frame.data as { status: string }).status;
  }
  return status;
}

async function jobId(submitted: Promise<Response>): Promise<string> {
  const res = await submitted;
  expect(res.status).toBe(202);
  return ((await res.json()) as { job_id: string }).job_id;
}

async function statusOf(id: string): Promise<string> {
  return ((await (await fetch(`${base}/api/v1/jobs/${id}`)).json()) as { status: string }).status;
}

/** Resolves once the job's record says `status` (each state waited for here lasts: slots are held). */
async function untilStatus(id: string, status: string): Promise<void> {
  await expect.poll(() => statusOf(id), { timeout: 30_000, interval: 100 }).toBe(status);
}

async function problem(res: Response): Promise<string> {
  const body = (await res.json()) as { detail: string; errors?: { message: string }[] };
  return `${body.detail} ${(body.errors ?? []).map((e) => e.message).join(" ")}`;
}

describe("data in, models out", () => {
  it("trains a random forest on an uploaded CSV and predicts its held-out rows as metrics.json says", async () => {
    const csv = flowersCsv(600);
    const uploaded = await uploadCsv("flowers", csv);
    expect(uploaded.status).toBe(201);
    const record = (await uploaded.json()) as Record<string, unknown>;
    expect(record).toMatchObject({
      dataset_id: "flowers",
      rows: 600,
      target_column: "species",
      features: ["f1", "f2", "f3", "f4"],
      classes: ["setosa", "versicolor", "virginica"],
    });
    const fetched = (await (await fetch(`${base}/api/v1/datasets/flowers`)).json()) as {
      sha256: string;
    };
    expect(fetched.sha256).toBe(record.sha256);

    const submitted = await submit({
      model_type: "random_forest",
      dataset: { dataset_id: "flowers", target_column: "species", seed: 3 },
      hyperparameters: { n_trees: 10, max_depth: 6 },
      tasks: 3,
    });
    expect(submitted.status).toBe(202);
    const { job_id } = (await submitted.json()) as { job_id: string };
    const ended = await untilEnded(job_id);
    expect(ended).toBe("COMPLETED");
    expect((await fetch(`${base}/api/v1/jobs/${job_id}/download`, { method: "HEAD" })).status).toBe(
      200,
    );

    const listed = (await (await fetch(`${base}/api/v1/jobs/${job_id}/artifacts`)).json()) as {
      artifacts: { name: string }[];
    };
    expect(listed.artifacts.map((a) => a.name).sort()).toEqual([
      "history.csv",
      "metrics.json",
      "model.json",
      "spec.json",
    ]);
    // The NATS door lists the same set (a raw request, no Troupe code on this side).
    const nc = await connect({ servers: natsUrl });
    const reply = await nc.request("troupe.jobs.artifacts", JSON.stringify({ job_id }));
    const overNats = reply.json<{ artifacts: { name: string }[] }>().artifacts.map((a) => a.name);
    expect(overNats.sort()).toEqual(listed.artifacts.map((a) => a.name).sort());
    await nc.close();
    const zip = Buffer.from(
      await (await fetch(`${base}/api/v1/jobs/${job_id}/download`)).arrayBuffer(),
    );
    const files = unzip(zip);
    expect([...files.keys()].sort()).toEqual([
      "history.csv",
      "metrics.json",
      "model.json",
      "spec.json",
    ]);
    const modelJson = await (
      await fetch(`${base}/api/v1/jobs/${job_id}/artifacts/model.json`)
    ).text();
    expect(String(files.get("model.json"))).toBe(modelJson);

    const metrics = (await (
      await fetch(`${base}/api/v1/jobs/${job_id}/artifacts/metrics.json`)
    ).json()) as { accuracy: number; heldout_rows: number[]; classes: string[] };
    expect(metrics.accuracy).toBeGreaterThanOrEqual(0.9);
    const history = await (
      await fetch(`${base}/api/v1/jobs/${job_id}/artifacts/history.csv`)
    ).text();
    expect(history.split("\n")[0]).toBe("task,epoch,loss,accuracy,validation_loss");
    expect(history.trim().split("\n")).toHaveLength(1 + 3 * 10);

    const data = csv
      .trim()
      .split("\n")
      .slice(1)
      .map((line) => line.split(","));
    const held = metrics.heldout_rows.map((r) => data[r] as string[]);
    const predicted = await fetch(`${base}/api/v1/jobs/${job_id}/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ rows: held.map((row) => row.slice(0, 4).map(Number)) }),
    });
    expect(predicted.status).toBe(200);
    const { predictions } = (await predicted.json()) as { predictions: string[] };
    const right = predictions.filter((p, i) => p === held[i]?.[4]).length;
    expect(right / held.length).toBeCloseTo(metrics.accuracy, 10);

    // Bad predict input: the wrong number of features, named.
    const wrong = await fetch(`${base}/api/v1/jobs/${job_id}/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ rows: [[1, 2, 3]] }),
    });
    expect(wrong.status).toBe(400);
    expect(await problem(wrong)).toContain("the model takes 4");
    // The data set is in use by nobody now: it may be deleted.
    expect((await fetch(`${base}/api/v1/datasets/flowers`, { method: "DELETE" })).status).toBe(200);
    expect((await fetch(`${base}/api/v1/datasets/flowers`)).status).toBe(404);
  }, 90_000);

  it("answers HEAD on the download across a job's life: 202 queued, 202 running, 204 cancelled, 404 unknown, 400 not an id", async () => {
    // Two long jobs ahead of it in the queue: it waits QUEUED while they hold the slots.
    const holding = { model_type: "neural_network", dataset: { samples: 50_000 }, epochs: 1000 };
    const busy = [await jobId(submit(holding)), await jobId(submit(holding))];
    await untilStatus(busy[0] as string, "RUNNING");
    const job_id = await jobId(submit(holding));
    const head = async (id: string) =>
      (await fetch(`${base}/api/v1/jobs/${id}/download`, { method: "HEAD" })).status;

    await untilStatus(job_id, "QUEUED");
    expect(await head(job_id)).toBe(202);
    expect((await fetch(`${base}/download/${job_id}`, { method: "HEAD" })).status).toBe(202);
    expect(await statusOf(job_id)).toBe("QUEUED");

    // The jobs ahead of it end: it runs, and is still not ready.
    for (const id of busy) await fetch(`${base}/api/v1/jobs/${id}/cancel`, { method: "POST" });
    await untilStatus(job_id, "RUNNING");
    expect(await head(job_id)).toBe(202);
    expect((await fetch(`${base}/api/v1/jobs/${job_id}/download`)).status).toBe(409);
    expect(await statusOf(job_id)).toBe("RUNNING");

    await fetch(`${base}/api/v1/jobs/${job_id}/cancel`, { method: "POST" });
    expect(await untilEnded(job_id)).toBe("CANCELLED");
    expect(await head(job_id)).toBe(204);
    expect((await fetch(`${base}/api/v1/jobs/${job_id}/download`)).status).toBe(409);
    expect(await head("job_0000000000000000000")).toBe(404);
    expect(await head("not-a-job")).toBe(400);
    for (const id of busy) expect(await untilEnded(id)).toBe("CANCELLED");
  }, 60_000);

  it("refuses bad data sets with a 4xx naming the problem, storing nothing", async () => {
    const bad = flowersCsv(50)
      .replace(/\n(\S+?),/, "\nabc,")
      .split("\n");
    bad[17] = `1.0,x7,1.0,1.0,setosa`;
    const cell = await uploadCsv("bad-cell", `${bad.join("\n")}`);
    expect(cell.status).toBe(400);
    const message = await problem(cell);
    expect(message).toContain("line 18");
    expect(message).toContain('column "f2"');

    const empty = await uploadCsv("empty", "");
    expect(empty.status).toBe(400);
    expect(await problem(empty)).toContain("empty");

    const headless = await uploadCsv("headless", "1,2,3\n4,5,6\n");
    expect(headless.status).toBe(400);
    expect(await problem(headless)).toContain("no header row");

    const target = await uploadCsv("target", flowersCsv(30), "&target_column=colour");
    expect(target.status).toBe(400);
    expect(await problem(target)).toContain("colour");

    const big = new Uint8Array(MAX_BYTES * 32).fill(0x31);
    big.set(new TextEncoder().encode("a,b\n"));
    // A first refusal warms the path (its buffers, the thread's parser) up.
    expect((await uploadCsv("huge", big.subarray(0, MAX_BYTES * 2))).status).toBe(413);
    const rssBefore = rssKb(troupe.pid);
    const tooLarge = await uploadCsv("huge", big);
    expect(tooLarge.status).toBe(413);
    expect(await problem(tooLarge)).toContain("MAX_DATASET_BYTES");
    // Refusing streamed it: holding the 128 MiB it was sent would grow the process by at least
    // as much; half of it leaves room for when garbage is collected (4 to 40 MiB seen).
    expect(rssKb(troupe.pid) - rssBefore).toBeLessThan(64 * 1024);

    const list = (await (await fetch(`${base}/api/v1/datasets`)).json()) as {
      datasets: { dataset_id: string }[];
    };
    const ids = list.datasets.map((d) => d.dataset_id);
    for (const id of ["bad-cell", "empty", "headless", "target", "huge"])
      expect(ids).not.toContain(id);

    const unknown = await submit({ model_type: "random_forest", dataset: { dataset_id: "nope" } });
    expect(unknown.status).toBe(400);
    expect(await problem(unknown)).toContain('no data set "nope"');

    expect((await uploadCsv("small", flowersCsv(60))).status).toBe(201);
    const column = await submit({
      model_type: "random_forest",
      dataset: { dataset_id: "small", target_column: "petal" },
    });
    expect(column.status).toBe(400);
    expect(await problem(column)).toContain('"petal" is not a column of small');

    // A data set a job not yet ended uses cannot be deleted.
    const busy = await submit({
      model_type: "neural_network",
      dataset: { dataset_id: "small" },
      epochs: 1000,
      tasks: 1,
    });
    const busyId = ((await busy.json()) as { job_id: string }).job_id;
    const inUse = await fetch(`${base}/api/v1/datasets/small`, { method: "DELETE" });
    expect(inUse.status).toBe(409);
    expect(await problem(inUse)).toContain(busyId);
    await fetch(`${base}/api/v1/jobs/${busyId}/cancel`, { method: "POST" });

    const path = await fetch(`${base}/api/v1/jobs/job_0000000000000000000/artifacts/..%2F..%2Fetc`);
    expect(path.status).toBe(400);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});

describe("seed 002's /upload and /download/:id", () => {
  it("turns a multipart CSV and spec file into a data set and a job, downloadable when done", async () => {
    const form = new FormData();
    form.append("user_id", "carol");
    form.append("service", "prediction");
    form.append("files", new Blob([flowersCsv(150)], { type: "text/csv" }), "measurements.csv");
    const spec = { model_type: "logistic_regression", epochs: 2, tasks: 2 };
    form.append("files", new Blob([JSON.stringify(spec)]), "job.json");
    const res = await fetch(`${base}/upload`, { method: "POST", body: form });
    expect(res.status).toBe(202);
    const { id, dataset_id } = (await res.json()) as { id: string; dataset_id: string };
    expect(dataset_id).toMatch(/^measurements-/);
    expect(await untilEnded(id)).toBe("COMPLETED");
    const job = (await (await fetch(`${base}/api/v1/jobs/${id}`)).json()) as {
      user_id: string;
      model_type: string;
      spec: { dataset: { dataset_id: string } };
    };
    expect(job).toMatchObject({ user_id: "carol", model_type: "logistic_regression" });
    expect(job.spec.dataset.dataset_id).toBe(dataset_id);
    expect((await fetch(`${base}/download/${id}`, { method: "HEAD" })).status).toBe(200);
    const zip = await fetch(`${base}/download/${id}`);
    expect(zip.headers.get("content-type")).toBe("application/zip");

    const none = new FormData();
    none.append("user_id", "carol");
    const refused = await fetch(`${base}/upload`, { method: "POST", body: none });
    expect(refused.status).toBe(400);
    expect(await problem(refused)).toContain("no .csv file");
  }, 90_000);
});

describe("evaluate and predict jobs", () => {
  it("predicts 10,000 rows over 4 shards in input order, as the predict route does, and evaluates them", async () => {
    const csv = flowersCsv(10_000);
    expect((await uploadCsv("many", csv)).status).toBe(201);
    const train = await submit({
      model_type: "logistic_regression",
      dataset: { dataset_id: "many" },
      epochs: 2,
      tasks: 2,
    });
    const model = ((await train.json()) as { job_id: string }).job_id;
    expect(await untilEnded(model)).toBe("COMPLETED");

    const predictJob = await submit({
      task_type: "predict",
      model: { job_id: model },
      dataset: { dataset_id: "many" },
      tasks: 4,
    });
    expect(predictJob.status).toBe(202);
    const predictId = ((await predictJob.json()) as { job_id: string }).job_id;
    const evaluateJob = await submit({
      task_type: "evaluate",
      model: { job_id: model },
      dataset: { dataset_id: "many" },
      tasks: 3,
    });
    const evaluateId = ((await evaluateJob.json()) as { job_id: string }).job_id;
    expect(await untilEnded(predictId)).toBe("COMPLETED");
    expect(await untilEnded(evaluateId)).toBe("COMPLETED");

    const lines = (
      await (await fetch(`${base}/api/v1/jobs/${predictId}/artifacts/predictions.csv`)).text()
    )
      .trim()
      .split("\n");
    expect(lines[0]).toBe("row,prediction,p_setosa,p_versicolor,p_virginica");
    expect(lines).toHaveLength(10_001);
    expect(lines.slice(1).map((l) => Number(l.split(",")[0]))).toEqual(
      Array.from({ length: 10_000 }, (_, i) => i),
    );
    const rows = csv
      .trim()
      .split("\n")
      .slice(1)
      .map((line) => line.split(",").slice(0, 4).map(Number));
    const route = await fetch(`${base}/api/v1/jobs/${model}/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ rows }),
    });
    const { predictions } = (await route.json()) as { predictions: string[] };
    expect(lines.slice(1).map((l) => l.split(",")[1])).toEqual(predictions);

    const evaluation = (await (
      await fetch(`${base}/api/v1/jobs/${evaluateId}/artifacts/metrics.json`)
    ).json()) as { rows: number; accuracy: number; confusion_matrix: number[][] };
    expect(evaluation.rows).toBe(10_000);
    expect(evaluation.confusion_matrix.flat().reduce((a, b) => a + b, 0)).toBe(10_000);
    const truth = csv
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => l.split(",")[4]);
    const right = predictions.filter((p, i) => p === truth[i]).length;
    expect(evaluation.accuracy).toBeCloseTo(right / 10_000, 10);

    // Labels the model never saw: the evaluate job fails naming the row, and has no download.
    const odd = flowersCsv(60).replace(/setosa\n/, "lotus\n");
    expect((await uploadCsv("odd", odd)).status).toBe(201);
    const failing = await submit({
      task_type: "evaluate",
      model: { job_id: model },
      dataset: { dataset_id: "odd" },
      tasks: 1,
      retry_policy: { max_attempts: 1 },
    });
    const failingId = ((await failing.json()) as { job_id: string }).job_id;
    expect(await untilEnded(failingId)).toBe("FAILED");
    const failed = (await (await fetch(`${base}/api/v1/jobs/${failingId}`)).json()) as {
      error: string;
    };
    expect(failed.error).toContain(`"lotus" is not one of the model's classes`);
    expect(
      (await fetch(`${base}/api/v1/jobs/${failingId}/download`, { method: "HEAD" })).status,
    ).toBe(204);

    const noModel = await submit({
      task_type: "predict",
      model: { job_id: predictId },
      dataset: { dataset_id: "many" },
    });
    expect(noModel.status).toBe(400);
    expect(await problem(noModel)).toContain("/model/job_id");
  }, 90_000);
});

/** Resident memory of a process, in KiB. */
function rssKb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/);
  return Number(line?.[1] ?? 0);
}
