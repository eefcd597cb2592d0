import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Objm } from "@nats-io/obj";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { beforeAll, describe, expect, it } from "vitest";
import { isNatsUnavailable } from "../../src/transport/nats-errors.ts";
import { type ApiClient, apiClient } from "../support/api-client.ts";
import { quickSpec, submit, waitForJob } from "../support/jobs.ts";
import { type NatsServer, startNats } from "../support/nats.ts";
import { startTroupes } from "../support/troupe-process.ts";

const NATS_CONF = fileURLToPath(new URL("../../nats.conf", import.meta.url));
const passwords = {
  // A letter first: nats-server reads a variable as a config value, and digits make a number.
  TROUPE_RUNTIME_PASSWORD: `r${randomBytes(12).toString("hex")}`,
  TROUPE_SUBMITTER_PASSWORD: `s${randomBytes(12).toString("hex")}`,
};

/** Resolves with the permission violation the server reports for what `act` does. */
async function violationOf(nc: NatsConnection, act: () => void): Promise<string> {
  const statuses = nc.status();
  act();
  for await (const status of statuses) {
    if (status.type === "error" && /Permissions Violation/.test(status.error.message)) {
      return status.error.message;
    }
  }
  throw new Error("status stream ended without a permission violation");
}

let nats: NatsServer;
let submitter: ApiClient;

beforeAll(async () => {
  nats = await startNats({ configFile: NATS_CONF, env: passwords });
  submitter = await apiClient(nats.url, {
    user: "submitter",
    pass: passwords.TROUPE_SUBMITTER_PASSWORD,
  });
});

describe("the users of nats.conf", () => {
  it("lets a troupe process with the runtime user run a job the submitter submits and gets, and tell it of a refused publish", async () => {
    const [troupe] = await startTroupes(1, nats.url, {
      NATS_USER: "runtime",
      NATS_PASSWORD: passwords.TROUPE_RUNTIME_PASSWORD,
    });
    const jobId = await submit(submitter, quickSpec());
    const job = await waitForJob(submitter, jobId);
    expect(job).toMatchObject({ job_id: jobId, status: "COMPLETED", completed_tasks: 2 });
    // Service discovery works for the submitter too (`nats micro ls`).
    const ping = await submitter.request<{ name: string }>("$SRV.PING.troupe", "");
    expect(ping.body.name).toBe("troupe");
    // A refused plain publish reaches the submitter as an event (it has no reply to read).
    const rejected = submitter.nc.subscribe("troupe.events.rejected", { max: 1 });
    await submitter.nc.flush();
    submitter.nc.publish("troupe.jobs.submit", JSON.stringify({ name: "no-model" }));
    for await (const msg of rejected) {
      expect(msg.json()).toMatchObject({ name: "no-model", code: "TROUPE_ERR_INVALID_REQUEST" });
    }
    expect(rejected.getProcessed()).toBe(1);
    // Nothing the process did on the way was refused (a refused ack or KV write is only logged).
    const refused = troupe?.logs.filter((line) => JSON.stringify(line).includes("Permissions"));
    expect(refused).toEqual([]);
  }, 90_000);

  it("lets the submitter put a data set and read a job's model with the object store alone (no Troupe code)", async () => {
    await startTroupes(1, nats.url, {
      NATS_USER: "runtime",
      NATS_PASSWORD: passwords.TROUPE_RUNTIME_PASSWORD,
    });
    const objm = new Objm(submitter.nc);
    const lines = ["a,b,label"];
    for (let i = 0; i < 300; i++) lines.push(`${i % 7},${(i * 3) % 11},${i % 2 ? "odd" : "even"}`);
    const datasets = await objm.open("troupe_datasets");
    await datasets.putBlob({ name: "parity.csv" }, new TextEncoder().encode(lines.join("\n")));
    const reply = await submitter.nc.request(
      "troupe.jobs.submit",
      JSON.stringify({ model_type: "random_forest", dataset: { dataset_id: "parity" }, tasks: 2 }),
      { timeout: 10_000 },
    );
    const { job_id } = reply.json<{ job_id: string }>();
    expect(job_id).toMatch(/^job_/);
    const job = await waitForJob(submitter, job_id);
    expect(job.status).toBe("COMPLETED");
    const artifacts = await objm.open("troupe_artifacts");
    await expect
      .poll(async () => (await artifacts.info(`${job_id}/metrics.json`)) !== null)
      .toBe(true);
    const model = JSON.parse(
      new TextDecoder().decode((await artifacts.getBlob(`${job_id}/model.json`)) ?? undefined),
    ) as { format: string; features: string[]; classes: string[] };
    expect(model).toMatchObject({
      format: "troupe-model",
      features: ["a", "b"],
      classes: ["even", "odd"],
    });
    // Reading is all: a data set cannot be deleted through the object store's API.
    await expect(datasets.delete("parity.csv")).rejects.toThrow(/Permissions Violation/);
  }, 90_000);

  it.each([
    "troupe.internal.tasks.normal.x",
    "troupe.internal.jobs.x",
    "troupe.actor.x",
    "$KV.troupe_results.x",
    "$JS.API.STREAM.CREATE.X",
    "$JS.ACK.TROUPE_TASKS.lane-normal.1.1.1.1.0",
  ])("refuses the submitter publishing to %s", async (subject) => {
    const message = await violationOf(submitter.nc, () => submitter.nc.publish(subject, "{}"));
    expect(message).toBe(`Permissions Violation for Publish to "${subject}"`);
  });

  it("refuses the submitter a JetStream API request, as a request error not taken for an outage", async () => {
    const refusal = await submitter.request("$JS.API.STREAM.NAMES", {}).catch((error) => error);
    expect(refusal).toBeInstanceOf(Error);
    expect((refusal as Error).message).toBe(
      'Permissions Violation for Publish to "$JS.API.STREAM.NAMES"',
    );
    // A refusal repeats: start-up must fail on it, not wait for NATS to answer.
    expect(isNatsUnavailable(refusal)).toBe(false);
  });

  it.each(["troupe.internal.>", "_INBOX_troupe.>", "$KV.>"])(
    "refuses the submitter subscribing to %s (the runtime's own traffic)",
    async (subject) => {
      const message = await violationOf(submitter.nc, () => submitter.nc.subscribe(subject));
      expect(message).toBe(`Permissions Violation for Subscription to "${subject}"`);
    },
  );

  it("refuses a client without credentials", async () => {
    await expect(connect({ servers: nats.url, reconnect: false })).rejects.toThrow(
      /Authorization Violation/,
    );
  });
});
