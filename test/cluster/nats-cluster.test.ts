import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { jetstreamManager } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { RUNTIME_INBOX_PREFIX } from "../../src/transport/subjects.ts";
import { apiClient } from "../support/api-client.ts";
import { collectTaskEvents, quickSpec, submit, waitForJob } from "../support/jobs.ts";
import { startNatsCluster } from "../support/nats.ts";
import { outcomesRecorded } from "../support/results.ts";
import { spawnTroupe, startTroupes } from "../support/troupe-process.ts";

const CONFIG_DIR = fileURLToPath(new URL("../../deploy/cluster", import.meta.url));
const passwords = {
  // A letter first: nats-server reads a variable as a config value, and digits make a number.
  TROUPE_RUNTIME_PASSWORD: `r${randomBytes(12).toString("hex")}`,
  TROUPE_SUBMITTER_PASSWORD: `s${randomBytes(12).toString("hex")}`,
};
const runtimeEnv = { NATS_USER: "runtime", NATS_PASSWORD: passwords.TROUPE_RUNTIME_PASSWORD };
const runtimeUser = {
  user: "runtime",
  pass: passwords.TROUPE_RUNTIME_PASSWORD,
  inboxPrefix: RUNTIME_INBOX_PREFIX,
};
const submitterUser = { user: "submitter", pass: passwords.TROUPE_SUBMITTER_PASSWORD };

// Tasks long enough (tens of milliseconds) that the kill lands while work is running.
const mediumSpec = () =>
  quickSpec({
    model_type: "neural_network",
    dataset: { samples: 4_000, features: 16, seed: 5 },
    epochs: 3,
    tasks: 2,
  });

describe("troupe on a 3-node NATS cluster (deploy/cluster configs)", () => {
  it("completes 30 jobs on R3 streams, each result recorded once, though a NATS node is killed mid-run", async () => {
    const cluster = await startNatsCluster({ size: 3, configDir: CONFIG_DIR, env: passwords });
    const troupes = await startTroupes(3, cluster.urls, {
      ...runtimeEnv,
      TROUPE_REPLICAS: "3",
      MAX_CONCURRENT_TASKS: "2",
    });
    const admin = await apiClient(cluster.urls, runtimeUser);
    const jsm = await jetstreamManager(admin.nc);
    for (const stream of ["TROUPE_JOBS", "TROUPE_TASKS", "KV_troupe_jobs", "KV_troupe_results"]) {
      expect((await jsm.streams.info(stream)).config.num_replicas).toBe(3);
    }

    const client = await apiClient(cluster.urls, submitterUser);
    const seen = collectTaskEvents(client);
    const jobIds: string[] = [];
    for (let i = 0; i < 30; i++) jobIds.push(await submit(client, mediumSpec()));

    // The node the first troupe process is connected to dies once some work is done.
    const connected = await troupes[0]?.waitForLog("connected to NATS");
    const victim = cluster.servers.find((server) => server.url === `nats://${connected?.server}`);
    if (!victim) throw new Error(`no server at ${String(connected?.server)}`);
    await seen.until((events) => events.some((e) => e.status === "COMPLETED"));
    expect((await victim.kill())?.signal).toBe("SIGKILL");

    const jobs = await Promise.all(jobIds.map((id) => waitForJob(client, id)));
    expect(jobs.filter((job) => job.status !== "COMPLETED").map((job) => job.error)).toEqual([]);
    expect(jobs.map((job) => job.status)).toEqual(jobIds.map(() => "COMPLETED"));
    for (const job of jobs) expect(job.completed_tasks).toBe(2);
    // Exactly once: 60 task outcomes over all the chunk records ever stored.
    expect(await outcomesRecorded(admin.nc)).toBe(60);
    // The process that lost its server carried on through another one.
    await troupes[0]?.waitForLog("reconnected to NATS");
    for (const troupe of troupes)
      expect(troupe.logs.filter((line) => line.level >= 60)).toEqual([]);
  }, 150_000);

  it("refuses to start with more replicas than the cluster has servers", async () => {
    const cluster = await startNatsCluster({ size: 3, configDir: CONFIG_DIR, env: passwords });
    const troupe = spawnTroupe({
      env: { ...runtimeEnv, NATS_URL: cluster.urls, PORT: "0", TROUPE_REPLICAS: "5" },
    });
    expect((await troupe.exited).code).toBe(1);
    const fatal = await troupe.waitForLog("start-up failed");
    expect(JSON.stringify(fatal.err)).toContain("TROUPE_REPLICAS=5 is more than NATS cluster");
  }, 60_000);
});
