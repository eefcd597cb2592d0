/**
 * The processes a bench starts and the guarantee that it stops every one of them, on success, on
 * error and on Ctrl-C: use `runBench(main)` as the script's entry. A nats-server with `troupe`
 * processes is bench/support/cluster.ts's `Cluster` (shared with the chaos and soak benches),
 * started here through `startCluster` so that it is stopped like everything else.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Cluster } from "../support/cluster.ts";

const PROFILER = fileURLToPath(new URL("./cpu-profile.mjs", import.meta.url));
const STOP_GRACE_MS = 15_000;
const READY_TIMEOUT_MS = 60_000;
/** Linux clock ticks per second for /proc/<pid>/stat (USER_HZ, 100 on every mainstream arch). */
const CLOCK_TICKS = 100;

/** Something the bench started and must stop. */
interface Owned {
  readonly name: string;
  stop(): Promise<void>;
  /** Last resort from a synchronous `exit` handler. */
  killNow(): void;
}

const owned = new Set<Owned>();

/**
 * Runs `main` and then stops everything the bench started, even if `main` threw or the user
 * pressed Ctrl-C; the exit code says whether it succeeded.
 */
export async function runBench(main: () => Promise<void>): Promise<never> {
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      for (const o of owned) o.killNow();
      process.exit(130);
    }
    interrupted = true;
    console.error(`\n${signal}: stopping what the bench started…`);
    void stopAll().finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("exit", () => {
    for (const o of owned) o.killNow();
  });
  let code = 0;
  try {
    await main();
  } catch (error) {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    code = 1;
  } finally {
    await stopAll();
  }
  process.exit(code);
}

/** Stops everything still running, newest first; every stop runs even if another fails. */
export async function stopAll(): Promise<void> {
  for (const o of [...owned].reverse()) {
    try {
      await o.stop();
    } catch (error) {
      console.error(`stopping ${o.name} failed:`, error);
    }
  }
}

/** Registers something to stop at the end (a NATS connection, a Redis client…). */
export function own(
  name: string,
  stop: () => Promise<void>,
  killNow: () => void = () => undefined,
): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  const entry: Owned = {
    name,
    stop: () => {
      stopping ??= stop().finally(() => owned.delete(entry));
      return stopping;
    },
    killNow,
  };
  owned.add(entry);
  return entry.stop;
}

/** A child process the bench started. */
export interface ChildHandle {
  readonly name: string;
  readonly pid: number;
  /** SIGTERM, then SIGKILL after a grace period; resolves once it exited. */
  stop(): Promise<void>;
  /** Resolves once the process exited (for any reason). */
  readonly exited: Promise<void>;
  /** Whatever it wrote to stderr (bounded), for error messages. */
  readonly stderr: () => string;
}

function track(name: string, child: ChildProcess, cleanup?: () => void): ChildHandle {
  if (child.pid === undefined) throw new Error(`could not spawn ${name}`);
  const pid = child.pid;
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8_000);
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  let stopping: Promise<void> | undefined;
  const handle: ChildHandle = {
    name,
    pid,
    exited,
    stderr: () => stderr,
    stop: () => {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill("SIGTERM");
          const forced = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
          await exited;
          clearTimeout(forced);
        }
        cleanup?.();
        owned.delete(entry);
      })();
      return stopping;
    },
  };
  const entry: Owned = {
    name,
    stop: handle.stop,
    killNow: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      cleanup?.();
    },
  };
  owned.add(entry);
  return handle;
}

export interface SpawnReadyOptions {
  name: string;
  command: string;
  args: readonly string[];
  env?: Record<string, string>;
  /** True for the stdout line that says the process is ready. */
  ready(line: string): boolean;
  timeoutMs?: number;
}

/**
 * Spawns a helper process (e.g. a BullMQ worker) and resolves once it prints its ready line;
 * rejects, and stops it, if it exits or stalls first.
 */
export async function spawnReady(options: SpawnReadyOptions): Promise<ChildHandle> {
  const child = spawn(options.command, options.args, {
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const handle = track(options.name, child);
  let partial = "";
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  child.stdout?.on("data", (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) if (options.ready(line)) markReady();
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ready,
      handle.exited.then(() => {
        throw new Error(`${options.name} exited before it was ready:\n${handle.stderr()}`);
      }),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${options.name} was not ready in time:\n${handle.stderr()}`)),
          options.timeoutMs ?? READY_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (error) {
    await handle.stop();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return handle;
}

/** A started cluster with the pids a bench counts CPU time of. */
export interface BenchCluster {
  readonly cluster: Cluster;
  readonly natsUrl: string;
  /** The troupe processes' pids. */
  troupePids(): number[];
  /** nats-server's pid. */
  readonly natsPid: number | undefined;
  /** Stops it (troupe processes with SIGTERM first when profiling, so profiles get written). */
  stop(): Promise<void>;
}

/**
 * A nats-server (loopback, free port, temporary JetStream store) and `processes` troupe processes
 * with `env` (PORT=0 and NATS_URL are set by the cluster); resolves once each said "troupe
 * started". BENCH_CPU_PROF=<dir>: each troupe process writes a V8 CPU profile of its main thread
 * there when it stops (open it in Chrome DevTools or speedscope).
 */
export async function startCluster(
  processes: number,
  env: Record<string, string> = {},
): Promise<BenchCluster> {
  const profileDir = process.env.BENCH_CPU_PROF;
  const profiling: Record<string, string> = profileDir
    ? {
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import=${PROFILER}`.trim(),
        BENCH_CPU_PROF: profileDir,
      }
    : {};
  const cluster = await Cluster.start({ processes, env: { ...env, ...profiling } });
  const url = new URL(cluster.natsUrl);
  const natsPid = findNatsServer(url.port);
  const stop = own(
    `cluster on ${cluster.natsUrl}`,
    async () => {
      if (profileDir) await Promise.all(cluster.members.map((m) => m.child && terminate(m.child)));
      await cluster.close();
    },
    () => {
      for (const m of cluster.members) m.child?.kill("SIGKILL");
      try {
        if (natsPid) process.kill(natsPid, "SIGKILL");
      } catch {
        // already gone: the cluster stopped it, or it died
      }
    },
  );
  return {
    cluster,
    natsUrl: cluster.natsUrl,
    natsPid,
    troupePids: () => cluster.members.flatMap((m) => (m.child?.pid ? [m.child.pid] : [])),
    stop,
  };
}

function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const forced = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
    child.once("exit", () => {
      clearTimeout(forced);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** The pid of our child nats-server listening on `port` (from /proc; undefined if not found). */
function findNatsServer(port: string): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      const at = args.indexOf("-p");
      if (args[0]?.endsWith("nats-server") && at >= 0 && args[at + 1] === port) {
        return Number(entry);
      }
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return undefined;
}

/** Stops several processes at once. */
export async function stopEach(handles: readonly ChildHandle[]): Promise<void> {
  await Promise.all(handles.map((h) => h.stop()));
}

/** CPU time (user + system, ms) a process has used so far, from /proc; 0 if unknown. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** Total CPU ms of several processes. */
export function cpuMsOf(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
