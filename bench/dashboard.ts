/**
 * The dashboard under load, in headless Chromium (Debian's; scripts/ensure-chromium):
 * - jobs_view_ms_1000: time from navigation to the jobs view's first render with 1,000 jobs in the
 *   list (the page's `troupe:jobs-rendered` mark, set once the rows are on screen) — it includes
 *   loading the page and the API's reply of 1,000 records;
 * - stream_fps: frames a second the job page draws while 8 tasks of one job stream their progress
 *   (4 troupe processes of 2 slots and 2 pool threads, one task a chunk, so all 8 train and report
 *   at once), counted with requestAnimationFrame over 3-second windows; beside it, the same page's
 *   rate once the job is stopped (idle_fps), the epochs plotted per second while streaming and how
 *   busy the page's main thread was meanwhile (the 8 tasks train on the browser's 2 cores).
 * The troupe processes run from the sources on their own nats-server, on the same cores as the
 * browser. Each figure is the median of BENCH_RUNS runs (default 5).
 * Run: `npx tsx bench/dashboard.ts`; last line `RESULT {json}`.
 */
import type { Page } from "playwright-core";
import { launchChromium } from "../test/dashboard/support/chromium.ts";
import { own, runBench, sleep, startCluster } from "./lib/processes.ts";
import {
  benchRuns,
  fmtFigure,
  machine,
  printResult,
  printTable,
  rounded,
  Samples,
} from "./lib/stats.ts";

const JOBS = 1_000;
const STREAMING_TASKS = 8;
/** A process trains at most min(cores, slots) tasks at once: 4 × 2 for 8 on this 2-core VM. */
const PROCESSES = 4;
const FPS_WINDOW_MS = 3_000;

/** A job whose 8 tasks would train for minutes: it streams while measured, then is cancelled. */
const STREAMING_SPEC = {
  name: "bench-stream",
  model_type: "neural_network",
  dataset: { samples: 80_000, features: 32, noise: 3, seed: 5 },
  epochs: 1000,
  tasks: STREAMING_TASKS,
};

const tinySpec = (i: number) => ({
  name: `bench-${i}`,
  model_type: "logistic_regression",
  dataset: { samples: 200, features: 4, seed: i },
  epochs: 1,
  tasks: 1,
});

async function main(): Promise<void> {
  const runs = benchRuns();
  const where = machine();
  console.log(`dashboard bench: ${runs} runs, ${where.cpu} × ${where.cores}, node ${where.node}`);
  const cluster = await startCluster(PROCESSES, {
    MAX_CONCURRENT_TASKS: String(STREAMING_TASKS / PROCESSES),
    CHUNK_TARGET: "0ms",
    RATE_LIMIT_PER_MIN: "1000000",
    LOG_LEVEL: "warn",
  });
  const http = cluster.cluster.members[0]?.httpUrl;
  if (!http) throw new Error("the troupe process did not say its HTTP address");
  const chromium = await launchChromium();
  own("chromium", chromium.close);
  const samples = new Samples();

  await submitAll(
    http,
    Array.from({ length: JOBS }, (_, i) => tinySpec(i)),
  );
  await untilAllEnded(http);
  for (let run = 0; run < runs; run++) {
    const page = await chromium.context.newPage();
    samples.add("jobs_view_ms", await jobsViewMs(page, http));
    await page.close();
    // The API's part of it: the same read, from here.
    const started = performance.now();
    await (await fetch(`${http}/api/v1/jobs?limit=${JOBS}`)).json();
    samples.add("list_api_ms", performance.now() - started);
  }

  const [jobId] = await submitAll(http, [STREAMING_SPEC]);
  const page = await chromium.context.newPage();
  await page.goto(`${http}/#/jobs/${jobId}`);
  await page
    .getByRole("cell", { name: "RUNNING" })
    .nth(STREAMING_TASKS - 1)
    .waitFor({ timeout: 120_000 });
  const cdp = await chromium.context.newCDPSession(page);
  await cdp.send("Performance.enable");
  const busyMs = async () => {
    const { metrics } = await cdp.send("Performance.getMetrics");
    return 1000 * (metrics.find((m) => m.name === "TaskDuration")?.value ?? 0);
  };
  for (let run = 0; run < runs; run++) {
    const before = await plotted(page);
    const busyBefore = await busyMs();
    const started = performance.now();
    samples.add("stream_fps", await framesPerSecond(page));
    const seconds = (performance.now() - started) / 1000;
    samples.add("points_per_s", ((await plotted(page)) - before) / seconds);
    // How much of each second the page's main thread worked: its own cost, whatever the cores.
    samples.add("busy_ms_per_s", ((await busyMs()) - busyBefore) / seconds);
  }
  await fetch(`${http}/api/v1/jobs/${jobId}/cancel`, { method: "POST" });
  await page
    .getByRole("heading", { name: /bench-stream/ })
    .getByText("CANCELLED")
    .waitFor();
  // Let the last aborted tasks leave the cores before measuring the quiet page.
  await sleep(2_000);
  for (let run = 0; run < runs; run++) samples.add("idle_fps", await framesPerSecond(page));

  const jobsView = samples.get("jobs_view_ms");
  const streamFps = samples.get("stream_fps");
  const idleFps = samples.get("idle_fps");
  const points = samples.get("points_per_s");
  const listApi = samples.get("list_api_ms");
  const busy = samples.get("busy_ms_per_s");
  printTable(
    "dashboard in headless Chromium (median, min–max)",
    ["measure", "figure"],
    [
      [`jobs view, first render with ${JOBS.toLocaleString()} jobs (ms)`, fmtFigure(jobsView)],
      [`  of which GET /api/v1/jobs?limit=${JOBS} alone (ms)`, fmtFigure(listApi)],
      [`job page while ${STREAMING_TASKS} tasks stream (frames/s)`, fmtFigure(streamFps)],
      ["  epochs plotted per second meanwhile", fmtFigure(points)],
      ["  page's main thread busy meanwhile (ms per s)", fmtFigure(busy)],
      ["job page once the job stopped (frames/s)", fmtFigure(idleFps)],
    ],
  );
  printResult({
    bench: "dashboard",
    ...where,
    runs,
    jobs_view_ms_1000: rounded(jobsView.median),
    jobs_view_ms_1000_min: rounded(jobsView.min),
    jobs_view_ms_1000_max: rounded(jobsView.max),
    list_api_ms_1000: rounded(listApi.median),
    stream_fps: rounded(streamFps.median),
    stream_fps_min: rounded(streamFps.min),
    stream_fps_max: rounded(streamFps.max),
    stream_points_per_s: rounded(points.median),
    stream_busy_ms_per_s: rounded(busy.median),
    idle_fps: rounded(idleFps.median),
  });
}

async function submitAll(http: string, specs: Record<string, unknown>[]): Promise<string[]> {
  const response = await fetch(`${http}/api/v1/jobs/batch`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ specs }),
  });
  const reply = (await response.json()) as { results: { job_id?: string }[]; failed: number };
  if (!response.ok || reply.failed > 0) throw new Error(`batch submit: ${JSON.stringify(reply)}`);
  return reply.results.map((r) => String(r.job_id));
}

/** Polls (a bench, not a test) until no job of the list is still to run. */
async function untilAllEnded(http: string): Promise<void> {
  const deadline = Date.now() + 600_000;
  for (;;) {
    const response = await fetch(`${http}/api/v1/jobs?limit=1000`);
    const { jobs } = (await response.json()) as { jobs: { status: string }[] };
    const left = jobs.filter(
      (j) => !["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"].includes(j.status),
    );
    if (jobs.length >= JOBS && left.length === 0) return;
    if (Date.now() > deadline) throw new Error(`${left.length} jobs still running`);
    await sleep(1_000);
  }
}

/** The browser's globals read here (this bench is type-checked without the DOM's types). */
type PageGlobals = {
  performance: {
    now(): number;
    getEntriesByName(name: string): { startTime: number; detail: { rows: number } }[];
  };
};

async function jobsViewMs(page: Page, http: string): Promise<number> {
  await page.goto(`${http}/#/jobs`);
  // A function, not a string: the page's Content-Security-Policy forbids eval.
  const handle = await page.waitForFunction(
    () => {
      const { performance } = globalThis as unknown as PageGlobals;
      const mark = performance.getEntriesByName("troupe:jobs-rendered")[0];
      return mark ? { ms: mark.startTime, rows: mark.detail.rows } : undefined;
    },
    undefined,
    { timeout: 60_000 },
  );
  const { ms, rows } = (await handle.jsonValue()) as { ms: number; rows: number };
  if (rows !== JOBS) throw new Error(`the jobs view showed ${rows} rows, not ${JOBS}`);
  return ms;
}

/**
 * requestAnimationFrame callbacks a second over one window. A string, not a function: tsx names
 * the functions it compiles with a helper the page does not have (page.evaluate of a string is
 * not eval, so the page's Content-Security-Policy allows it).
 */
function framesPerSecond(page: Page): Promise<number> {
  return page.evaluate<number>(`new Promise((resolve) => {
    let frames = 0;
    const start = performance.now();
    requestAnimationFrame(function frame(now) {
      frames += 1;
      if (now - start < ${FPS_WINDOW_MS}) requestAnimationFrame(frame);
      else resolve((frames * 1000) / (now - start));
    });
  })`);
}

/** Epoch points on the loss chart, from its accessible name ("task 0 12 points, …"). */
async function plotted(page: Page): Promise<number> {
  const label = await page.getByRole("img", { name: /^Loss by epoch/ }).getAttribute("aria-label");
  return [...(label ?? "").matchAll(/(\d+) points/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

await runBench(main);
