/**
 * A local Troupe cluster for the chaos and soak benches: one real nats-server (loopback, private
 * JetStream store) and N real `troupe` processes, with the faults a harness needs — `kill -9`,
 * SIGTERM, a NATS server restart — and the figures it reads from the processes' JSON logs.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnNatsServer } from "../../src/transport/nats-server-process.ts";
import { freePort } from "../../test/support/free-port.ts";

const TROUPE_BIN = fileURLToPath(new URL("../../bin/troupe.js", import.meta.url));
/** A troupe process that has not said "troupe started" by then is reported as failed. */
const START_TIMEOUT_MS = 120_000;
/** A process that ignores SIGTERM this long is killed (its exit then counts as not clean). */
const STOP_TIMEOUT_MS = 60_000;
const NATS_START_ATTEMPTS = 3;

export interface ClusterOptions {
  processes: number;
  /** Environment of every troupe process (NATS_URL and PORT are set by the cluster). */
  env: Record<string, string>;
  /** Told of every child process started (tests record them for their leak check). */
  onChild?(pid: number, what: string): void;
  /** The troupe CLI each process runs with `node` (default: bin/troupe.js, the sources via tsx). */
  entry?: string;
}

/** Faults the processes reported injecting (TROUPE_FAULTS), by kind. */
export interface InjectedFaults {
  worker: number;
  job: number;
  pool: number;
}

/** One place in the cluster: a troupe process, replaced by a fresh one after a fault. */
export interface Member {
  readonly index: number;
  /** The current process's worker id (undefined until it registered). */
  workerId: string | undefined;
  /** The current process's HTTP URL (undefined until it started). */
  httpUrl: string | undefined;
  /** Started and not being stopped: a fair target for the next fault. */
  up: boolean;
  child: ChildProcess | undefined;
}

export class Cluster {
  readonly natsUrl: string;
  readonly members: Member[];
  readonly injected: InjectedFaults = { worker: 0, job: 0, pool: 0 };
  /** Exits nobody asked for (exit code, or the signal), each followed by a replacement. */
  readonly unexpectedExits: string[] = [];
  /** For each unexpected exit, the process's last error-level log line (or its stderr's tail). */
  readonly unexpectedExitReasons: string[] = [];
  readonly #options: ClusterOptions;
  readonly #port: number;
  readonly #storeDir: string;
  #nats: ChildProcess | undefined;
  #closed = false;

  private constructor(options: ClusterOptions, port: number) {
    this.#options = options;
    this.#port = port;
    this.natsUrl = `nats://127.0.0.1:${port}`;
    this.#storeDir = mkdtempSync(join(tmpdir(), "troupe-bench-nats-"));
    this.members = Array.from({ length: options.processes }, (_, index) => ({
      index,
      workerId: undefined,
      httpUrl: undefined,
      up: false,
      child: undefined,
    }));
  }

  /** Starts nats-server, then every troupe process; resolves once all of them started. */
  static async start(options: ClusterOptions): Promise<Cluster> {
    const cluster = new Cluster(options, await freePort());
    try {
      await cluster.#startNats();
      await Promise.all(cluster.members.map((member) => cluster.#spawn(member)));
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  /** Members up now. */
  upMembers(): Member[] {
    return this.members.filter((member) => member.up);
  }

  /** `kill -9`: no drain, no goodbye. Returns the worker id killed; a replacement starts. */
  async kill9(member: Member): Promise<{ workerId: string | undefined; restarted: Promise<void> }> {
    const { child, workerId } = member;
    member.up = false;
    if (child) {
      const exited = exitOf(child);
      child.kill("SIGKILL");
      await exited;
    }
    return { workerId, restarted: this.#replace(member) };
  }

  /** SIGTERM: a graceful drain. Resolves with the exit code once it left; a replacement starts. */
  async sigterm(
    member: Member,
  ): Promise<{ workerId: string | undefined; code: number | null; restarted: Promise<void> }> {
    const { child, workerId } = member;
    member.up = false;
    let code: number | null = null;
    if (child) {
      const exited = exitOf(child);
      child.kill("SIGTERM");
      const forced = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      code = (await exited).code;
      clearTimeout(forced);
    }
    return { workerId, code, restarted: this.#replace(member) };
  }

  /** Stops nats-server (SIGTERM) and starts it again on the same port with the same store. */
  async restartNats(): Promise<void> {
    const nats = this.#nats;
    this.#nats = undefined;
    if (nats) {
      const exited = exitOf(nats);
      nats.kill("SIGTERM");
      await exited;
    }
    // A server with a large store may need more than one readiness window to recover it.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#startNats();
        return;
      } catch (error) {
        if (attempt >= NATS_START_ATTEMPTS || this.#closed) throw error;
      }
    }
  }

  /** Stops everything (SIGKILL: the run is over) and removes the store. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const children = [...this.members.map((m) => m.child), this.#nats];
    await Promise.all(
      children.map((child) => {
        if (!child) return undefined;
        const exited = exitOf(child);
        child.kill("SIGKILL");
        return exited;
      }),
    );
    rmSync(this.#storeDir, { recursive: true, force: true });
  }

  async #startNats(): Promise<void> {
    const args = ["-a", "127.0.0.1", "-p", String(this.#port), "-js", "-sd", this.#storeDir];
    const child = await spawnNatsServer({ args });
    if (child.pid !== undefined) this.#options.onChild?.(child.pid, "nats-server");
    this.#nats = child;
  }

  /**
   * Starts a process in `member`'s place, as a process manager would: one that fails to start is
   * reported as an unexpected exit and started again. Never rejects.
   */
  async #replace(member: Member): Promise<void> {
    while (!this.#closed) {
      try {
        return await this.#spawn(member);
      } catch (error) {
        this.#unexpectedExit("start-up failed", (error as Error).message.trim());
      }
    }
  }

  #unexpectedExit(how: string, reason: string): void {
    this.unexpectedExits.push(how);
    this.unexpectedExitReasons.push(reason);
  }

  /** Starts a troupe process in `member`'s place; resolves once it logged "troupe started". */
  #spawn(member: Member): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const env = {
      ...process.env,
      LOG_PRETTY: "0",
      ...this.#options.env,
      NATS_URL: this.natsUrl,
      PORT: "0",
      // The cluster follows the processes by their info lines ("troupe started", faults).
      LOG_LEVEL: "info",
    };
    const child = spawn(process.execPath, [this.#options.entry ?? TROUPE_BIN, "start"], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2_000);
    });
    keepLogs(child, `troupe-${member.index}`);
    let lastLine = "";
    if (child.pid !== undefined) this.#options.onChild?.(child.pid, "troupe");
    member.child = child;
    member.workerId = undefined;
    member.httpUrl = undefined;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        fail(new Error(`troupe #${member.index} did not start in time`));
        child.kill("SIGKILL");
      }, START_TIMEOUT_MS);
      const onExit = (code: number | null) =>
        fail(
          new Error(
            `troupe #${member.index} exited (${code}) before it started: ${lastLine}\n${stderr}`,
          ),
        );
      child.once("exit", onExit);
      function fail(error: Error) {
        clearTimeout(timer);
        child.off("exit", onExit);
        reject(error);
      }
      readLines(child, (line) => {
        if (line.level !== undefined && Number(line.level) >= 50) lastLine = JSON.stringify(line);
        this.#countFault(line);
        if (line.msg === "worker registered" && member.child === child) {
          member.workerId = String(line.workerId);
        } else if (line.msg === "troupe started") {
          clearTimeout(timer);
          child.off("exit", onExit);
          if (member.child === child) {
            member.httpUrl = String(line.http);
            member.up = true;
          }
          // As a process manager would: a process that stops by itself is reported and replaced.
          child.once("exit", (code, signal) => {
            if (member.child !== child || !member.up || this.#closed) return;
            member.up = false;
            this.#unexpectedExit(
              String(code ?? signal),
              lastLine || stderr.trim().split("\n").pop() || "",
            );
            void this.#replace(member);
          });
          resolve();
        }
      });
    });
  }

  #countFault(line: LogLine): void {
    if (line.msg === "injected fault: a pool thread dies") this.injected.pool += 1;
    if (line.msg !== "actor restarted") return;
    const error = JSON.stringify(line.err ?? "");
    if (error.includes("injected fault in a worker actor")) this.injected.worker += 1;
    else if (error.includes("injected fault in a job actor")) this.injected.job += 1;
  }
}

type LogLine = { msg?: string } & Record<string, unknown>;

function readLines(child: ChildProcess, onLine: (line: LogLine) => void): void {
  let partial = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split("\n");
    partial = lines.pop() ?? "";
    for (const text of lines) {
      if (!text.startsWith("{")) continue;
      try {
        onLine(JSON.parse(text) as LogLine);
      } catch {
        // A partial or foreign line: not one of ours.
      }
    }
  });
}

/**
 * BENCH_LOG_DIR=<dir>: every process's whole output goes to `<dir>/<name>-<pid>.log` too, to find
 * out afterwards what a run that went wrong did.
 */
function keepLogs(child: ChildProcess, name: string): void {
  const dir = process.env.BENCH_LOG_DIR;
  if (!dir || child.pid === undefined) return;
  const file = createWriteStream(join(dir, `${name}-${child.pid}.log`));
  child.stdout?.on("data", (chunk: Buffer) => file.write(chunk));
  child.stderr?.on("data", (chunk: Buffer) => file.write(chunk));
  // "close", not "exit": output still buffered in the pipes arrives after the exit.
  child.once("close", () => file.end());
}

function exitOf(child: ChildProcess): Promise<{ code: number | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode });
  }
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code })));
}

/** The `q` quantile (0..1) of `values` (nearest rank); 0 when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? 0;
}
