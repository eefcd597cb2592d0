import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
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
