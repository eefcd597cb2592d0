import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach } from "vitest";
import { recordChild } from "./child-registry.ts";
import { type Exit, waitForExit } from "./process-exit.ts";

const TROUPE_BIN = fileURLToPath(new URL("../../bin/troupe.js", import.meta.url));
const DEFAULT_WAIT_MS = 20_000;

/** One pino JSON line of a troupe process. */
export type LogLine = { level: number; msg: string } & Record<string, unknown>;

export interface SpawnTroupeOptions {
  /** Added to (and overriding) this process's environment. */
  env?: Record<string, string>;
  /** Removed from the environment, e.g. NATS_URL to test the default. */
  unsetEnv?: string[];
  /** Command-line arguments. @default ["start"] */
  args?: string[];
  /** The CLI script run with node. @default bin/troupe.js (the sources, through tsx) */
  entry?: string;
  /** A command to run troupe under, e.g. ["unshare", "-rn", "sh", "-c", "… exec \"$0\" \"$@\""]. */
  wrapper?: string[];
  /** Written to its standard input, which is then closed (default: no standard input). */
  stdin?: string;
}

export interface TroupeProcess {
  readonly pid: number;
  /** Every JSON log line so far, in order. */
  readonly logs: readonly LogLine[];
  /** Everything written to stdout so far, as written (a duplicated JSON key shows here only). */
  readonly stdout: string;
  /** Everything written to stderr so far. */
  readonly stderr: string;
  readonly exited: Promise<Exit>;
  /** Resolves with the first log line (past or future) matching; rejects if the process exits first. */
  waitForLog(match: string | ((line: LogLine) => boolean), timeoutMs?: number): Promise<LogLine>;
  signal(signal: NodeJS.Signals): void;
}

const live = new Set<ChildProcess>();
const spawned: { pid: number; logs: LogLine[]; stderr: () => string }[] = [];

// When a test fails, what its troupe processes said is the first thing anyone needs.
afterEach((context) => {
  if (context.task.result?.state === "fail") reportLogs();
});

afterAll(async () => {
  await Promise.all(
    [...live].map((child) => {
      child.kill("SIGKILL");
      return waitForExit(child);
    }),
  );
});

/** Spawns `troupe` (bin/troupe.js unless `entry` says) as a real child process and collects its log lines. */
export function spawnTroupe(options: SpawnTroupeOptions = {}): TroupeProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_PRETTY: "0", ...options.env };
  for (const name of options.unsetEnv ?? []) delete env[name];
  const command = [
    ...(options.wrapper ?? []),
    process.execPath,
    options.entry ?? TROUPE_BIN,
    ...(options.args ?? ["start"]),
  ];
  const [file, ...args] = command as [string, ...string[]];
  const child = spawn(file, args, {
    env,
    stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  child.stdin?.end(options.stdin);
  if (child.pid === undefined) throw new Error(`could not spawn ${file}`);
  recordChild(child.pid, "troupe");
  live.add(child);
  const pid = child.pid;
  const exited = waitForExit(child).then((exit) => {
    live.delete(child);
    return exit;
  });

  const logs: LogLine[] = [];
  const watchers = new Set<(line: LogLine) => void>();
  let stdout = "";
  let stderr = "";
  let partial = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    const lines = (partial + chunk.toString()).split("\n");
    partial = lines.pop() ?? "";
    for (const text of lines) {
      const line = parseLine(text);
      logs.push(line);
      for (const watcher of watchers) watcher(line);
    }
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  spawned.push({ pid, logs, stderr: () => stderr });

  return {
    pid: child.pid,
    logs,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    signal: (signal) => {
      child.kill(signal);
    },
    waitForLog(match, timeoutMs = DEFAULT_WAIT_MS) {
      const test = typeof match === "string" ? (line: LogLine) => line.msg === match : match;
      const found = logs.find(test);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => finish(new Error(`no log line matching ${match} in time`)),
          timeoutMs,
        );
        const watcher = (line: LogLine) => {
          if (test(line)) finish(undefined, line);
        };
        void exited.then((exit) =>
          finish(
            new Error(
              `troupe exited (${JSON.stringify(exit)}) before logging ${match}:\n${stderr}`,
            ),
          ),
        );
        function finish(error: Error | undefined, line?: LogLine) {
          clearTimeout(timer);
          watchers.delete(watcher);
          if (line) resolve(line);
          else reject(error);
        }
        watchers.add(watcher);
      });
    },
  };
}

function parseLine(text: string): LogLine {
  try {
    return JSON.parse(text) as LogLine;
  } catch {
    // Non-JSON output (a stray console.log) is kept, not dropped.
    return { level: 30, msg: text };
  }
}

/** Spawns `count` troupe processes on `natsUrl` and resolves once each logged "troupe started". */
export async function startTroupes(
  count: number,
  natsUrl: string,
  env: Record<string, string> = {},
): Promise<TroupeProcess[]> {
  const processes = Array.from({ length: count }, () =>
    spawnTroupe({
      env: {
        NATS_URL: natsUrl,
        PORT: "0",
        HEARTBEAT_INTERVAL: "500ms",
        WORKER_TIMEOUT: "3s",
        ...env,
      },
    }),
  );
  await Promise.all(processes.map((p) => p.waitForLog("troupe started", 60_000)));
  return processes;
}

function reportLogs(): void {
  for (const { pid, logs, stderr } of spawned) {
    const notable = logs.filter((line) => line.level >= 40).slice(-20);
    if (notable.length === 0 && !stderr()) continue;
    console.error(`--- troupe pid ${pid}: last warnings and errors ---`);
    for (const line of notable) console.error(JSON.stringify(line).slice(0, 600));
    if (stderr()) console.error(stderr().slice(-2000));
  }
}
