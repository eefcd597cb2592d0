import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

/** How long a nats-server may take to say it is ready (JetStream recovery included). */
const READY_TIMEOUT_MS = 30_000;

/** The nats-server binary: NATS_SERVER_BIN, then PATH, then /usr/sbin (Debian's package). */
export function findNatsServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.NATS_SERVER_BIN) return env.NATS_SERVER_BIN;
  for (const dir of (env.PATH ?? "").split(":").concat("/usr/sbin")) {
    if (dir && existsSync(join(dir, "nats-server"))) return join(dir, "nats-server");
  }
  return undefined;
}

export interface NatsServerProcessOptions {
  args: readonly string[];
  /** Added to this process's environment (nats.conf reads its passwords from variables). */
  env?: Readonly<Record<string, string>>;
  /** Each line nats-server logs after it is ready (it logs on stderr). */
  onLine?: (line: string) => void;
}

/**
 * Spawns nats-server and resolves once it logs "Server is ready" — after it listens and, with
 * JetStream, after the store is recovered. Rejects with its output if it exits or stalls first.
 */
export async function spawnNatsServer(options: NatsServerProcessOptions): Promise<ChildProcess> {
  const binary = findNatsServer();
  if (!binary) {
    throw new Error("nats-server not found; install it with: bash scripts/ensure-nats-server");
  }
  const child = spawn(binary, options.args, {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...options.env },
  });
  await awaitReady(child);
  forwardLines(child, options.onLine);
  return child;
}

function awaitReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => fail("was not ready in time"), READY_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (!output.includes("Server is ready")) return;
      cleanup();
      resolve();
    };
    const onExit = (code: number | null) => fail(`exited with code ${code}`);
    const onError = (error: Error) => fail(error.message);
    function fail(reason: string) {
      cleanup();
      child.kill("SIGKILL");
      reject(new Error(`nats-server ${reason}:\n${output.trim()}`));
    }
    function cleanup() {
      clearTimeout(timer);
      child.stderr?.off("data", onData);
      child.off("exit", onExit);
      child.off("error", onError);
    }
    child.stderr?.on("data", onData);
    child.once("exit", onExit);
    child.once("error", onError);
  });
}

/** Keeps reading stderr (a full pipe would block the server) and hands out whole lines. */
function forwardLines(child: ChildProcess, onLine: ((line: string) => void) | undefined): void {
  let partial = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    if (!onLine) return;
    const lines = (partial + chunk.toString()).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) if (line) onLine(line);
  });
}
