import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { spawnNatsServer } from "../../src/transport/nats-server-process.ts";
import { recordChild } from "./child-registry.ts";
import { freePort } from "./free-port.ts";
import { type Exit, waitForExit } from "./process-exit.ts";

export interface StartNatsOptions {
  /** Enable JetStream with a private temporary store. @default true */
  jetstream?: boolean;
  /** A nats-server config file, passed with `-c` (command-line flags still win). */
  configFile?: string;
  /** More command-line arguments for nats-server. */
  args?: string[];
}

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  /** The JetStream store; kept across `restart()`. */
  readonly storeDir: string;
  /** pid of the current nats-server process. */
  readonly pid: number;
  /** SIGTERM, then wait for exit (SIGKILL after 5 s); resolves with how it exited. */
  stop(): Promise<Exit | undefined>;
  /** A real SIGKILL: no shutdown, no flush; resolves with how it exited. */
  kill(): Promise<Exit | undefined>;
  /** Start again on the same port with the same store (stops it first if running). */
  restart(): Promise<void>;
}

const live = new Set<NatsServerImpl>();

// Every test file that starts a server gets it stopped after the file, even when tests fail.
afterAll(async () => {
  await Promise.all([...live].map((server) => server.dispose()));
});

/** Spawns a real nats-server on a free loopback port and resolves once it accepts clients. */
export async function startNats(options: StartNatsOptions = {}): Promise<NatsServer> {
  const server = new NatsServerImpl(await freePort(), options);
  live.add(server);
  await server.start();
  return server;
}

class NatsServerImpl implements NatsServer {
  readonly port: number;
  readonly url: string;
  readonly storeDir: string;
  #options: StartNatsOptions;
  #child: ChildProcess | undefined;

  constructor(port: number, options: StartNatsOptions) {
    this.port = port;
    this.url = `nats://127.0.0.1:${port}`;
    this.storeDir = mkdtempSync(join(tmpdir(), "troupe-nats-"));
    this.#options = options;
  }

  get pid(): number {
    if (this.#child?.pid === undefined) throw new Error("nats-server is not running");
    return this.#child.pid;
  }

  async start(): Promise<void> {
    const args = [];
    if (this.#options.configFile) args.push("-c", this.#options.configFile);
    args.push("-a", "127.0.0.1", "-p", String(this.port), "-m", "0");
    if (this.#options.jetstream ?? true) args.push("-js", "-sd", this.storeDir);
    args.push(...(this.#options.args ?? []));
    const child = await spawnNatsServer({ args });
    if (child.pid !== undefined) recordChild(child.pid, "nats-server");
    this.#child = child;
  }

  stop(): Promise<Exit | undefined> {
    return this.#signal("SIGTERM");
  }

  kill(): Promise<Exit | undefined> {
    return this.#signal("SIGKILL");
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async dispose(): Promise<void> {
    await this.stop();
    live.delete(this);
    rmSync(this.storeDir, { recursive: true, force: true });
  }

  async #signal(signal: NodeJS.Signals): Promise<Exit | undefined> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return undefined;
    const exited = waitForExit(child);
    child.kill(signal);
    const forced = setTimeout(() => child.kill("SIGKILL"), 5_000);
    const exit = await exited;
    clearTimeout(forced);
    return exit;
  }
}
