import type { ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "../log.ts";
import { spawnNatsServer } from "./nats-server-process.ts";

/** The repo's nats.conf: JetStream limits, max_payload and monitoring for the embedded server. */
const NATS_CONF = fileURLToPath(new URL("../../nats.conf", import.meta.url));
const STOP_TIMEOUT_MS = 5_000;

export interface EmbeddedNats {
  readonly url: string;
  readonly pid: number;
  /** SIGTERM (JetStream flushes), SIGKILL if it has not exited within 5 s. Idempotent. */
  close(): Promise<void>;
  /** Synchronous last resort for a forced exit: SIGKILL. */
  killNow(): void;
}

/** True when something accepts TCP connections at host:port within `timeoutMs`. */
export function isListening(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/**
 * Starts a nats-server child with the repo's nats.conf, listening on `host:port`, keeping its
 * JetStream store under `dataDir`. Its own log lines go to our logger at debug level
 * (warnings and errors at warn).
 */
export async function startEmbeddedNats(options: {
  host: string;
  port: number;
  dataDir: string;
  log: Logger;
}): Promise<EmbeddedNats> {
  const storeDir = join(options.dataDir, "nats");
  mkdirSync(storeDir, { recursive: true });
  const log = options.log.child({ component: "embedded-nats" });
  const child = await spawnNatsServer({
    args: ["-c", NATS_CONF, "-a", options.host, "-p", String(options.port), "-sd", storeDir],
    onLine: (line) => (/\[(ERR|WRN|FTL)\]/.test(line) ? log.warn(line) : log.debug(line)),
  });
  const url = `nats://${options.host}:${options.port}`;
  log.info({ url, serverPid: child.pid, storeDir }, "started embedded nats-server");
  let closing: Promise<void> | undefined;
  return {
    url,
    pid: child.pid ?? -1,
    close: () => {
      closing ??= stop(child);
      return closing;
    },
    killNow: () => {
      child.kill("SIGKILL");
    },
  };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
