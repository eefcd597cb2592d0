/**
 * Data in, models out (DESIGN §5.1), against one troupe process on its own nats-server:
 * - upload_mb_per_s: a 32 MiB CSV uploaded over HTTP (text/csv, sent with node:http in 1 MiB
 *   writes; streamed into the object store while a pool thread checks it) beside
 *   objstore_put_mb_per_s, the same bytes put into an object store bucket by a bare nats.js client
 *   from this process, hashing with node:crypto as troupe does; the pairs run in turns, and
 *   upload_vs_put is the median of each pair's ratio;
 * - upload_rss_growth_mb: the troupe process's peak resident memory (sampled every 20 ms from
 *   /proc) above its idle size, over two 16 MiB warm-up uploads and one 256 MiB upload;
 * - train_rows_per_s_uploaded / _synthetic: a logistic regression (3 epochs, 4 tasks) on an
 *   uploaded 100,000 × 20 data set, and on synthetic data of the same size: training rows a second
 *   from the job's start to its end.
 * Each figure is the median of BENCH_RUNS runs (default 5), except the 256 MiB upload (one).
 * Run: `npx tsx bench/datasets.ts`; last line `RESULT {json}`.
 */
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { Objm, setSha256Backend } from "@nats-io/obj";
import { connect } from "@nats-io/transport-node";
import { runBench, sleep, startCluster } from "./lib/processes.ts";
import {
  benchRuns,
  fmtFigure,
  load1,
  machine,
  printResult,
  printTable,
  rounded,
  Samples,
} from "./lib/stats.ts";

const MIB = 2 ** 20;
const UPLOAD_BYTES = 32 * MIB;
const BIG_BYTES = 256 * MIB;
const TRAIN_ROWS = 100_000;
const TRAIN_FEATURES = 20;

/** A CSV of about `bytes` bytes: `features` numeric columns and a 3-class label, generated lazily. */
function* csvChunks(bytes: number, features = 8): Generator<Uint8Array> {
  const encoder = new TextEncoder();
  const header = `${Array.from({ length: features }, (_, j) => `f${j}`).join(",")},label\n`;
  yield encoder.encode(header);
  let sent = header.length;
  let row = 0;
  while (sent < bytes) {
    const lines: string[] = [];
    for (let i = 0; i < 1000; i++, row++) {
      const label = row % 3;
      const cells = Array.from({ length: features }, (_, j) =>
        (label + Math.sin(row * 7.3 + j) * 0.8).toFixed(4),
      );
      lines.push(`${cells.join(",")},c${label}`);
    }
    const chunk = encoder.encode(`${lines.join("\n")}\n`);
    sent += chunk.byteLength;
    yield chunk;
  }
}

function csvBytes(bytes: number, features?: number): Buffer {
  return Buffer.concat([...csvChunks(bytes, features)]);
}

function csvRows(rows: number, features: number): Buffer {
  const bytesPerRow = features * 8 + 4;
  const all = csvBytes(rows * bytesPerRow * 2, features);
  const text = all.toString("utf8").split("\n");
  return Buffer.from(`${text.slice(0, rows + 1).join("\n")}\n`);
}

function rssKb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
}

/**
 * POSTs `chunks` as a text/csv body with node:http, as curl would: undici's fetch spent more CPU
 * sending than the troupe process spent receiving, on the same two cores. Resolves with the ms.
 */
async function upload(http: string, name: string, chunks: Iterable<Uint8Array>): Promise<number> {
  const started = performance.now();
  const { status, text } = await new Promise<{ status: number; text: string }>(
    (resolve, reject) => {
      const req = request(
        `${http}/api/v1/datasets?name=${name}`,
        { method: "POST", headers: { "content-type": "text/csv" } },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (part: string) => {
            text += part;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on("error", reject);
      const source = chunks[Symbol.iterator]();
      const send = () => {
        for (let next = source.next(); !next.done; next = source.next()) {
          if (!req.write(next.value)) {
            req.once("drain", send);
            return;
          }
        }
        req.end();
      };
      send();
    },
  );
  if (status !== 201) throw new Error(`upload ${name}: ${status} ${text}`);
  return performance.now() - started;
}

/** A buffer in slices of 1 MiB (a client's writes). */
function* slices(bytes: Buffer): Generator<Uint8Array> {
  for (let at = 0; at < bytes.byteLength; at += MIB) yield bytes.subarray(at, at + MIB);
}

async function trainRowsPerS(http: string, dataset: Record<string, unknown>): Promise<number> {
  const res = await fetch(`${http}/api/v1/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model_type: "logistic_regression", dataset, epochs: 3, tasks: 4 }),
  });
  const { job_id } = (await res.json()) as { job_id: string };
  for (;;) {
    const job = (await (await fetch(`${http}/api/v1/jobs/${job_id}`)).json()) as {
      status: string;
      started_at: string;
      finished_at: string;
      error: string | null;
    };
    if (job.status === "COMPLETED") {
      const seconds = (Date.parse(job.finished_at) - Date.parse(job.started_at)) / 1000;
      return (TRAIN_ROWS * 0.95 * 3) / seconds;
    }
    if (["FAILED", "CANCELLED", "TIMEOUT"].includes(job.status))
      throw new Error(job.error ?? job.status);
    await sleep(100);
  }
}

async function main(): Promise<void> {
  const runs = benchRuns();
  const where = machine();
  console.log(`datasets bench: ${runs} runs, ${where.cpu} × ${where.cores}, node ${where.node}`);
  const bench = await startCluster(1, {
    MAX_DATASET_BYTES: "300MiB",
    MAX_CONCURRENT_TASKS: "2",
    LOG_LEVEL: "warn",
  });
  const http = bench.cluster.members[0]?.httpUrl;
  const pid = bench.troupePids()[0];
  if (!http || !pid) throw new Error("the troupe process did not start");
  const nc = await connect({ servers: bench.natsUrl });
  // The bare put hashes as troupe does (node:crypto), not with nats.js' portable default.
  setSha256Backend("native");
  const raw = await new Objm(nc).create("bench_raw", { storage: "file" as never });
  const samples = new Samples();
  const payload = csvBytes(UPLOAD_BYTES);
  const mb = payload.byteLength / MIB;
  // Resident memory is sampled from here, before any upload, until the 256 MiB one has ended.
  const idle = rssKb(pid);
  let peak = idle;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssKb(pid));
  }, 20);
  // Warm-up, not counted: each of the two pool threads checks an upload (its code compiled), and
  // the bare put runs once.
  const warm = csvBytes(16 * MIB);
  for (const name of ["warm-1", "warm-2"]) await upload(http, name, slices(warm));
  await raw.putBlob({ name: "warm" }, warm);
  const peakBefore = peak;
  await upload(http, "big", csvChunks(BIG_BYTES));
  clearInterval(sampler);
  // Growth from the idle process (the warm-up's included); and above the warm-up's high mark.
  const growthMb = (peak - idle) / 1024;
  const bigGrowthMb = Math.max(0, peak - peakBefore) / 1024;

  const loadBefore = load1();
  for (let run = 0; run < runs; run++) {
    const timeUpload = async () => mb / ((await upload(http, `up-${run}`, slices(payload))) / 1000);
    const timePut = async () => {
      const started = performance.now();
      await raw.putBlob({ name: `raw-${run}` }, payload);
      return mb / ((performance.now() - started) / 1000);
    };
    // Side by side in one run, in turns first: the load others put on the machine, and its drift,
    // weigh on both alike.
    let up: number;
    let put: number;
    if (run % 2 === 0) {
      up = await timeUpload();
      put = await timePut();
    } else {
      put = await timePut();
      up = await timeUpload();
    }
    samples.add("upload", up);
    samples.add("put", put);
    samples.add("ratio", up / put);
  }
  const loadAfter = load1();

  await upload(http, "train", slices(csvRows(TRAIN_ROWS, TRAIN_FEATURES)));
  for (let run = 0; run < runs; run++) {
    samples.add("uploaded", await trainRowsPerS(http, { dataset_id: "train", seed: run }));
    samples.add(
      "synthetic",
      await trainRowsPerS(http, {
        samples: TRAIN_ROWS,
        features: TRAIN_FEATURES,
        classes: 3,
        seed: run,
        test_fraction: 0.05,
      }),
    );
  }
  await nc.close();

  const uploadFig = samples.get("upload");
  const putFig = samples.get("put");
  const ratio = samples.get("ratio");
  const uploaded = samples.get("uploaded");
  const synthetic = samples.get("synthetic");
  printTable(
    "data sets (median, min–max; a shared, loaded 2-core VM: indicative)",
    ["measure", "figure"],
    [
      [`upload over HTTP, ${mb.toFixed(0)} MiB CSV (MB/s)`, fmtFigure(uploadFig)],
      ["  bare object-store put of the same bytes (MB/s)", fmtFigure(putFig)],
      ["  upload ÷ bare put, each run's pair", fmtFigure(ratio, 2)],
      ["  load average (1 min) before / after the pairs", `${loadBefore} / ${loadAfter}`],
      [
        `troupe RSS growth: idle → peak of the uploads to the 256 MiB one (MiB)`,
        growthMb.toFixed(1),
      ],
      [`  of which the 256 MiB upload, above the warm-up's (MiB)`, bigGrowthMb.toFixed(1)],
      [
        `training rows/s, uploaded ${TRAIN_ROWS.toLocaleString()} × ${TRAIN_FEATURES}`,
        fmtFigure(uploaded, 0),
      ],
      ["  same size, synthetic", fmtFigure(synthetic, 0)],
    ],
  );
  printResult({
    bench: "datasets",
    ...where,
    runs,
    upload_mb_per_s: rounded(uploadFig.median),
    objstore_put_mb_per_s: rounded(putFig.median),
    upload_vs_put: rounded(ratio.median, 2),
    load1_uploads: [loadBefore, loadAfter],
    upload_rss_growth_mb: rounded(growthMb),
    upload_rss_idle_mb: rounded(idle / 1024),
    train_rows_per_s_uploaded: rounded(uploaded.median, 0),
    train_rows_per_s_synthetic: rounded(synthetic.median, 0),
  });
}

await runBench(main);
