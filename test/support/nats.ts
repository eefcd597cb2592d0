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
  /** Added to nats-server's environment (nats.conf reads its passwords from variables). */
  env?: Record<string, string>;
}

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  /** The JetStream store; kept across `restart()`. */
  readonly storeDir: string;
  /** The monitoring port (`/healthz`, `/jsz`, …); 0 when monitoring is off. */
  readonly monitorPort: number;
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
let clusters = 0;

// Every test file that starts a server gets it stopped after the file, even when tests fail.
afterAll(async () => {
  await Promise.all([...live].map((server) => server.dispose()));
});

/** Spawns a real nats-server on a free loopback port and resolves once it accepts clients. */
export async function startNats(options: StartNatsOptions = {}): Promise<NatsServer> {
  // A config file may turn monitoring on at a fixed port: give it a free one instead.
  const monitorPort = options.configFile ? await freePort() : 0;
  const server = new NatsServerImpl(await freePort(), monitorPort, options);
  live.add(server);
  await server.start();
  return server;
}

export interface StartNatsClusterOptions {
  /** Number of servers. @default 3 */
  size?: number;
  /** Where `nats-<i>.conf` (1-based) are: the repo's deploy/cluster. */
  configDir: string;
  /** Added to each server's environment (the users' passwords). */
  env?: Record<string, string>;
}

export interface NatsCluster {
  readonly servers: readonly NatsServer[];
  /** Every server's client URL, comma-separated, as NATS_URL takes them. */
  readonly urls: string;
}

/**
 * Starts a real NATS cluster on loopback with the given config files, each server on free client,
 * route and monitoring ports (command-line flags override the files' `listen`, `cluster.listen`,
 * `routes` and `http` ports), and resolves once every server reports the same JetStream meta
 * leader. Stopped after the test file, like `startNats`.
 */
export async function startNatsCluster(options: StartNatsClusterOptions): Promise<NatsCluster> {
  const size = options.size ?? 3;
  const routePorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const routes = routePorts.map((port) => `nats://127.0.0.1:${port}`).join(",");
  // A name of its own: an earlier cluster of the file still runs, and its servers keep dialling
  // the route port of any node a test killed — a port this cluster may have been given. Routes
  // between clusters of different names are refused, so the two never merge.
  const name = `troupe-test-${process.pid}-${++clusters}`;
  const servers = await Promise.all(
    routePorts.map(async (routePort, i) => {
      const server = new NatsServerImpl(await freePort(), await freePort(), {
        configFile: join(options.configDir, `nats-${i + 1}.conf`),
        env: options.env,
        args: [
          "--cluster",
          `nats://127.0.0.1:${routePort}`,
          "--routes",
          routes,
          "--cluster_name",
          name,
        ],
      });
      live.add(server);
      return server;
    }),
  );
  await Promise.all(servers.map((server) => server.start()));
  await Promise.all(servers.map((server) => metaLeaderOf(server, size)));
  return { servers, urls: servers.map((server) => server.url).join(",") };
}

/** Waits until the server's `/jsz` names a meta leader of a cluster of `size` servers. */
async function metaLeaderOf(server: NatsServer, size: number): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const jsz = (await fetch(`http://127.0.0.1:${server.monitorPort}/jsz`)
      .then((response) => response.json())
      .catch(() => undefined)) as { meta_cluster?: { leader?: string; cluster_size?: number } };
    const meta = jsz?.meta_cluster;
    if (meta?.leader && meta.cluster_size === size) return meta.leader;
    if (Date.now() > deadline) throw new Error(`no JetStream meta leader on ${server.url}`);
    // The election is a server-side event with no client notification: look again shortly.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

class NatsServerImpl implements NatsServer {
  readonly port: number;
  readonly monitorPort: number;
  readonly url: string;
  readonly storeDir: string;
  #options: StartNatsOptions;
  #child: ChildProcess | undefined;

  constructor(port: number, monitorPort: number, options: StartNatsOptions) {
    this.port = port;
    this.monitorPort = monitorPort;
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
    args.push("-a", "127.0.0.1", "-p", String(this.port), "-m", String(this.monitorPort));
    if (this.#options.jetstream ?? true) args.push("-js", "-sd", this.storeDir);
    args.push(...(this.#options.args ?? []));
    const child = await spawnNatsServer({ args, env: this.#options.env });
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
