import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/log.ts";
import {
  type EmbeddedNats,
  probeNats,
  readEmbeddedIdentity,
  startEmbeddedNats,
} from "../../src/transport/embedded-server.ts";
import { RUNTIME_INBOX_PREFIX } from "../../src/transport/subjects.ts";
import { recordChild } from "../support/child-registry.ts";
import { freeEmbeddedPort } from "../support/free-port.ts";

const dataDir = mkdtempSync(join(tmpdir(), "troupe-embedded-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const log = createLogger({ level: "silent", pretty: false });

async function start(port: number): Promise<EmbeddedNats> {
  const embedded = await startEmbeddedNats({ host: "127.0.0.1", port, dataDir, log });
  if (!embedded) throw new Error("the embedded nats-server did not start");
  recordChild(embedded.pid, "embedded nats-server");
  return embedded;
}

describe("the embedded nats-server (repo's nats.conf, zero set-up)", () => {
  it("needs no password from the user: the runtime gets generated credentials, anonymous clients are submitters", async () => {
    const embedded = await start(await freeEmbeddedPort());
    try {
      // Other troupe processes with the same data dir find the credentials; only its owner reads them.
      expect(readEmbeddedIdentity(dataDir)?.auth).toEqual(embedded.auth);
      expect(statSync(join(dataDir, "nats-runtime.json")).mode & 0o777).toBe(0o600);

      const auth = embedded.auth.kind === "user" ? embedded.auth : undefined;
      const runtime = await connect({
        servers: embedded.url,
        user: auth?.user,
        pass: auth?.password,
        inboxPrefix: RUNTIME_INBOX_PREFIX,
      });
      await expect(jetstreamManager(runtime)).resolves.toBeDefined();
      await runtime.close();

      const anonymous = await connect({ servers: embedded.url });
      // The JetStream API beyond the two object stores' is out of its reach (the tasks stream).
      await expect(
        anonymous.request("$JS.API.STREAM.INFO.TROUPE_TASKS", "", { timeout: 2_000 }),
      ).rejects.toThrow("Permissions Violation");
      // A submit is allowed (no troupe process answers here, hence no responders).
      await expect(
        anonymous.request("troupe.jobs.submit", "{}", { timeout: 2_000 }),
      ).rejects.toThrow("no responders");
      await anonymous.close();
    } finally {
      await embedded.close();
    }
  });

  it("comes back with the same name and credentials, so a client of the first server gets into the next", async () => {
    const port = await freeEmbeddedPort();
    const first = await start(port);
    const identity = readEmbeddedIdentity(dataDir);
    expect((await probeNats("127.0.0.1", port))?.serverName).toBe(identity?.serverName);
    const auth = first.auth.kind === "user" ? first.auth : undefined;
    const client = await connect({
      servers: first.url,
      user: auth?.user,
      pass: auth?.password,
      inboxPrefix: RUNTIME_INBOX_PREFIX,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
    });
    const reconnected = (async () => {
      for await (const status of client.status()) if (status.type === "reconnect") return;
    })();
    await first.close();
    expect(await probeNats("127.0.0.1", port)).toBeUndefined();

    const second = await start(port);
    try {
      expect(second.auth).toEqual(first.auth);
      expect((await probeNats("127.0.0.1", port))?.serverName).toBe(identity?.serverName);
      await reconnected;
      await expect(jetstreamManager(client)).resolves.toBeDefined();
    } finally {
      await client.close();
      await second.close();
    }
  });

  it("never runs two servers on one store: a second start for the same data dir starts nothing", async () => {
    const embedded = await start(await freeEmbeddedPort());
    try {
      const otherPort = await freeEmbeddedPort();
      await expect(
        startEmbeddedNats({ host: "127.0.0.1", port: otherPort, dataDir, log }),
      ).resolves.toBeUndefined();
      expect(await probeNats("127.0.0.1", otherPort)).toBeUndefined();
    } finally {
      await embedded.close();
    }
  });
});
