import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { isAlive } from "../support/child-registry.ts";
import { startNats } from "../support/nats.ts";

async function withManager<T>(
  url: string,
  fn: (jsm: Awaited<ReturnType<typeof jetstreamManager>>) => Promise<T>,
): Promise<T> {
  const nc = await connect({ servers: url });
  try {
    return await fn(await jetstreamManager(nc));
  } finally {
    await nc.close();
  }
}

describe("startNats", () => {
  it("gives each call its own server, so a stream made on one is invisible on another", async () => {
    const [a, b] = await Promise.all([startNats(), startNats()]);
    expect(a.port).not.toBe(b.port);
    await withManager(a.url, (jsm) => jsm.streams.add({ name: "ONLY_ON_A", subjects: ["a.>"] }));
    const namesOnB = await withManager(b.url, async (jsm) => {
      const names: string[] = [];
      for await (const name of jsm.streams.names()) names.push(name);
      return names;
    });
    expect(namesOnB).not.toContain("ONLY_ON_A");
  });

  it("keeps a stream's messages across restart(), on the same port", async () => {
    const server = await startNats();
    const { port } = server;
    const nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "KEPT", subjects: ["kept.>"] });
    const js = jsm.jetstream();
    for (let i = 0; i < 3; i++) await js.publish("kept.x", `m${i}`);
    await nc.close();

    const before = server.pid;
    await server.restart();
    expect(server.port).toBe(port);
    expect(server.pid).not.toBe(before);

    const info = await withManager(server.url, (m) => m.streams.info("KEPT"));
    expect(info.state.messages).toBe(3);
  });

  it("kill() sends a real SIGKILL", async () => {
    const server = await startNats();
    const pid = server.pid;
    const exit = await server.kill();
    expect(exit).toEqual({ code: null, signal: "SIGKILL" });
    expect(isAlive(pid)).toBe(false);
  });
});

describe("a fresh server", () => {
  it("starts with an empty store: nothing leaks in from other tests or files", async () => {
    const server = await startNats();
    const names = await withManager(server.url, async (jsm) => {
      const found: string[] = [];
      for await (const name of jsm.streams.names()) found.push(name);
      return found;
    });
    expect(names).toEqual([]);
  });
});
