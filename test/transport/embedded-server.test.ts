import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/log.ts";
import { embeddedCredentials, startEmbeddedNats } from "../../src/transport/embedded-server.ts";
import { RUNTIME_INBOX_PREFIX } from "../../src/transport/subjects.ts";
import { recordChild } from "../support/child-registry.ts";
import { freePort } from "../support/free-port.ts";

const dataDir = mkdtempSync(join(tmpdir(), "troupe-embedded-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe("the embedded nats-server (repo's nats.conf, zero set-up)", () => {
  it("needs no password from the user: the runtime gets generated credentials, anonymous clients are submitters", async () => {
    const port = await freePort();
    const embedded = await startEmbeddedNats({
      host: "127.0.0.1",
      port,
      dataDir,
      log: createLogger({ level: "silent", pretty: false }),
    });
    recordChild(embedded.pid, "embedded nats-server");
    try {
      // Other troupe processes with the same data dir find the credentials; only its owner reads them.
      expect(embeddedCredentials(dataDir, embedded.url)).toEqual(embedded.auth);
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
      await expect(anonymous.request("$JS.API.INFO", "", { timeout: 2_000 })).rejects.toThrow(
        "Permissions Violation",
      );
      // A submit is allowed (no troupe process answers here, hence no responders).
      await expect(
        anonymous.request("troupe.jobs.submit", "{}", { timeout: 2_000 }),
      ).rejects.toThrow("no responders");
      await anonymous.close();
    } finally {
      await embedded.close();
    }
    expect(embeddedCredentials(dataDir, embedded.url)).toBeUndefined();
  });
});
