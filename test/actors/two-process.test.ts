import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterEach, describe, expect, it } from "vitest";
import { type ActorSystem, createActorSystem } from "../../src/actors/actor-system.ts";
import { ActorCrashedError, NoResponderError } from "../../src/errors.ts";
import { createNatsRemotePort } from "../../src/transport/remote-actors.ts";
import { recordChild } from "../support/child-registry.ts";
import { startNats } from "../support/nats.ts";
import { waitForExit } from "../support/process-exit.ts";
import { rejectionOf } from "./helpers.ts";

const FIXTURE = fileURLToPath(new URL("./fixtures/actor-host.ts", import.meta.url));

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Starts process B and resolves once it printed READY; it is killed after the test. */
async function startHost(natsUrl: string, actorName: string): Promise<HostProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", FIXTURE], {
    env: { ...process.env, NATS_URL: natsUrl, ACTOR_NAME: actorName },
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (child.pid !== undefined) recordChild(child.pid, "actor-host fixture");
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await waitForExit(child);
  });
  const host = new HostProcess(child);
  await host.line("READY");
  return host;
}

class HostProcess {
  readonly child: ChildProcess;
  #output = "";
  #stderr = "";
  #waiters: { line: string; resolve: () => void }[] = [];

  constructor(child: ChildProcess) {
    this.child = child;
    child.stderr?.on("data", (chunk: Buffer) => {
      this.#stderr += chunk.toString();
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      this.#output += chunk.toString();
      this.#check();
    });
  }

  /** Resolves once process B has printed `line` (counting from the last line awaited). */
  line(line: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiters.push({ line, resolve });
      this.#check();
      this.child.once("exit", (code) =>
        reject(new Error(`actor host exited (${code}) before "${line}":\n${this.#stderr}`)),
      );
    });
  }

  #check(): void {
    for (const waiter of [...this.#waiters]) {
      const at = this.#output.indexOf(`${waiter.line}\n`);
      if (at === -1) continue;
      this.#output = this.#output.slice(at + waiter.line.length + 1);
      this.#waiters = this.#waiters.filter((each) => each !== waiter);
      waiter.resolve();
    }
  }
}

async function asker(natsUrl: string): Promise<ActorSystem> {
  const nc: NatsConnection = await connect({ servers: natsUrl });
  const system = createActorSystem({ remote: createNatsRemotePort(nc) });
  cleanups.push(async () => {
    await system.shutdown();
    await nc.close();
  });
  return system;
}

describe("two processes over a real nats-server", () => {
  it("A asks B's actor and gets the reply; B crashes it → A's ask rejects; B stops → A fails fast", async () => {
    const nats = await startNats({ jetstream: false });
    const b = await startHost(nats.url, "two-process-worker");
    const a = await asker(nats.url);
    const worker = a.actorFor<unknown, unknown>("two-process-worker");

    // The reply comes from process B.
    expect(await worker.ask({ op: "echo", value: "hello" })).toEqual({
      pid: b.child.pid,
      value: "hello",
    });

    // B crashes the actor while it handles A's ask: A gets the typed crash error.
    const held = worker.ask({ op: "hold" }, { timeoutMs: 60_000 });
    await b.line("HOLDING");
    b.child.kill("SIGUSR2");
    const crash = await rejectionOf(held);
    expect(crash).toBeInstanceOf(ActorCrashedError);
    expect((crash as Error).message).toContain(`process ${b.child.pid} crashed the actor`);

    // A message that crashes the handler rejects the same way; B's supervisor restarts it.
    expect(await rejectionOf(worker.ask({ op: "crash" }))).toBeInstanceOf(ActorCrashedError);
    expect(await worker.ask({ op: "echo", value: 2 })).toEqual({ pid: b.child.pid, value: 2 });

    // B stops: A's ask fails at once with NoResponderError, long before its timeout.
    b.child.kill("SIGTERM");
    expect(await waitForExit(b.child)).toEqual({ code: 0, signal: null });
    const gone = await rejectionOf(worker.ask({ op: "echo", value: 3 }, { timeoutMs: 60_000 }));
    expect(gone).toBeInstanceOf(NoResponderError);
  });
});
