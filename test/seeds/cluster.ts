/**
 * The cluster the seed fixtures run against: one nats-server and two real `troupe` processes, A
 * and B, each started with the environment the fixtures' configuration examples give it (so those
 * examples are set exactly as written, and must work together), and the helpers that send a
 * fixture's request as written, only the host and port changed.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TSchema } from "typebox";
import { afterAll } from "vitest";
import { schemaProblems } from "../../src/validation.ts";
import { type ApiClient, apiClient } from "../support/api-client.ts";
import { freePort } from "../support/free-port.ts";
import { startNats } from "../support/nats.ts";
import { spawnTroupe, type TroupeProcess } from "../support/troupe-process.ts";

export interface Example {
  name: string;
  section: string;
  /** What differs from the seed's text, and why. */
  changed?: string;
  /** Which process: A (with seed 003's token) or B; a NATS request goes to the cluster. */
  process?: "A" | "B";
  /** `metrics`: B's METRICS_PORT listener instead of its HTTP port. */
  listener?: "metrics";
  /** A configuration example: the process is started with it. */
  env?: Record<string, string>;
  request?: {
    method?: string;
    path?: string;
    subject?: string;
    headers?: Record<string, string>;
    body?: unknown;
  };
  expect: {
    status?: number;
    schema?: string;
    match?: Record<string, unknown>;
    text?: string[];
    job?: { status: string; min_accuracy?: number; match?: Record<string, unknown> };
    metrics?: { name: string; labels?: Record<string, string> }[];
    worker?: Record<string, unknown>;
    logs_at_level?: number;
    log_file?: string;
  };
}

export interface SeedFixture {
  seed: string;
  service: string;
  source: string;
  examples: Example[];
}

const here = new URL(".", import.meta.url);

/** Every fixture file, in seed order. */
export function loadFixtures(): SeedFixture[] {
  const dir = new URL("fixtures/", here);
  return readdirSync(dir)
    .filter((name) => name.endsWith(".json"))
    .sort()
    .map((name) => JSON.parse(readFileSync(new URL(name, dir), "utf8")) as SeedFixture);
}

/** Problems of `value` against the JSON schema `name` in schemas/ (written from a seed's example). */
export function schemaProblemsOf(
  name: string,
  value: unknown,
): { path: string; message: string }[] {
  const schema = JSON.parse(readFileSync(new URL(`schemas/${name}`, here), "utf8")) as TSchema;
  return schemaProblems(schema, value);
}

export interface SeedCluster {
  readonly token: string;
  readonly dir: string;
  readonly nats: ApiClient;
  readonly processes: Record<"A" | "B", TroupeProcess>;
  /** Base URL of a process's HTTP listener (or B's metrics listener). */
  url(process: "A" | "B", listener?: "metrics"): string;
  /** `${TOKEN}`, `${DIR}`, `${METRICS_PORT}` in fixture text, replaced by this cluster's values. */
  fill(text: string): string;
}

/** Starts the cluster with the fixtures' configuration examples; stopped after the file. */
export async function startSeedCluster(fixtures: SeedFixture[]): Promise<SeedCluster> {
  const nats = await startNats();
  const dir = mkdtempSync(join(tmpdir(), "troupe-seeds-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const values: Record<string, string> = {
    TOKEN: "seed-003-token-of-32-characters!",
    DIR: dir,
    METRICS_PORT: String(await freePort()),
  };
  const fill = (text: string) =>
    text.replace(/\$\{(\w+)\}/g, (_, name: string) => values[name] ?? "");
  const env = { A: {} as Record<string, string>, B: {} as Record<string, string> };
  for (const example of fixtures.flatMap((f) => f.examples)) {
    if (!example.env || !example.process) continue;
    for (const [name, value] of Object.entries(example.env))
      env[example.process][name] = fill(value);
  }
  const base = { NATS_URL: nats.url, PORT: "0", HEARTBEAT_INTERVAL: "1s" };
  const processes = {
    // One slot: the other process runs most tasks, so both have work to report. A GPU by
    // configuration, which the capabilities must report (the seeds' workers advertise theirs).
    A: spawnTroupe({ env: { ...base, MAX_CONCURRENT_TASKS: "1", WORKER_GPUS: "1", ...env.A } }),
    // Seed 001's examples ask for 8 GB a task: B has them whatever the machine (placement).
    B: spawnTroupe({ env: { ...base, WORKER_MEMORY_GB: "16", ...env.B } }),
  };
  const started = await Promise.all(
    Object.values(processes).map((p) => p.waitForLog("troupe started", 60_000)),
  );
  const urls = {
    A: String(started[0]?.http),
    B: String(started[1]?.http),
    metrics: `http://127.0.0.1:${values.METRICS_PORT}`,
  };
  return {
    token: values.TOKEN as string,
    dir,
    nats: await apiClient(nats.url),
    processes,
    url: (process, listener) => (listener === "metrics" ? urls.metrics : urls[process]),
    fill,
  };
}

/** Parses Prometheus text into series: name, labels and value. */
export function parseSeries(text: string): { name: string; labels: Record<string, string> }[] {
  const series: { name: string; labels: Record<string, string> }[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("# TYPE ")) {
      series.push({ name: line.split(" ")[2] as string, labels: {} });
      continue;
    }
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? /.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries(
      [...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    ) as Record<string, string>;
    series.push({ name: match[1] as string, labels });
  }
  return series;
}
