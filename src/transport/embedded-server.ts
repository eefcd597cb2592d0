import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { dirname, join, relative } from "node:path";
import { EMBEDDED_MONITOR_PORT_OFFSET, type NatsAuth } from "../config.ts";
import type { Logger } from "../log.ts";
import { PACKAGE_ROOT } from "../package-root.ts";
import { spawnNatsServer } from "./nats-server-process.ts";
import { tryLock } from "./process-lock.ts";

/** The repo's nats.conf: JetStream limits, max_payload, monitoring, and the users (deploy/accounts.conf). */
const NATS_CONF = join(PACKAGE_ROOT, "nats.conf");
const STOP_TIMEOUT_MS = 5_000;
/** Generated next to the store: the repo's nats.conf, plus anonymous clients as `submitter`. */
const EMBEDDED_CONF = "nats-embedded.conf";
/** The embedded server's name and `runtime` credentials: made once per data dir, then kept. */
const IDENTITY_FILE = "nats-runtime.json";

/** Who the embedded server of a data dir is: its name (in its INFO) and its `runtime` user. */
export interface EmbeddedIdentity {
  readonly serverName: string;
  readonly auth: UserAuth;
}

type UserAuth = Extract<NatsAuth, { kind: "user" }>;

export interface EmbeddedNats {
  readonly url: string;
  readonly pid: number;
  /** The `runtime` user's credentials on this server (the data dir's, the same at every start). */
  readonly auth: NatsAuth;
  /** True once the server process has exited (stopped or died). */
  readonly exited: boolean;
  /** SIGTERM (JetStream flushes), SIGKILL if it has not exited within 5 s. Idempotent. */
  close(): Promise<void>;
  /** Synchronous last resort for a forced exit: SIGKILL. */
  killNow(): void;
}

/** What a NATS server says of itself in the INFO line it greets every client with. */
export interface NatsServerInfo {
  readonly serverName: string | undefined;
  readonly version: string | undefined;
}

/**
 * What answers on host:port within `timeoutMs`: undefined when nothing accepts a connection;
 * otherwise the NATS server's name and version (both undefined for something that is not NATS).
 */
export function probeNats(
  host: string,
  port: number,
  timeoutMs = 1_000,
): Promise<NatsServerInfo | undefined> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    const unknown = { serverName: undefined, version: undefined };
    let connected = false;
    let text = "";
    const done = (answer: NatsServerInfo | undefined) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(connected ? unknown : undefined));
    socket.once("connect", () => {
      connected = true;
    });
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      const end = text.indexOf("\r\n");
      if (end !== -1) done(parseInfo(text.slice(0, end)) ?? unknown);
    });
    socket.once("end", () => done(unknown));
    socket.once("error", () => done(connected ? unknown : undefined));
  });
}

function parseInfo(line: string): NatsServerInfo | undefined {
  if (!line.startsWith("INFO ")) return undefined;
  try {
    const info = JSON.parse(line.slice(5)) as { server_name?: unknown; version?: unknown };
    return {
      serverName: typeof info.server_name === "string" ? info.server_name : undefined,
      version: typeof info.version === "string" ? info.version : undefined,
    };
  } catch {
    return undefined;
  }
}

/** The data dir's embedded server identity, if one was ever made there. */
export function readEmbeddedIdentity(dataDir: string): EmbeddedIdentity | undefined {
  try {
    const saved = JSON.parse(readFileSync(join(dataDir, IDENTITY_FILE), "utf8")) as {
      serverName?: unknown;
      user?: unknown;
      password?: unknown;
    };
    const { serverName, user, password } = saved;
    if (typeof serverName !== "string" || typeof user !== "string" || typeof password !== "string")
      return undefined;
    return { serverName, auth: { kind: "user", user, password } };
  } catch {
    return undefined;
  }
}

/**
 * The stored identity, or a new one (random name and password) written atomically, mode 0600:
 * the same password at every start, so clients of a restarted server get back in.
 */
function ensureIdentity(dataDir: string): EmbeddedIdentity {
  const saved = readEmbeddedIdentity(dataDir);
  if (saved) return saved;
  const identity = {
    serverName: `troupe-embedded-${randomBytes(6).toString("hex")}`,
    auth: { kind: "user", user: "runtime", password: randomPassword() },
  } as const;
  const file = join(dataDir, IDENTITY_FILE);
  const { serverName, auth } = identity;
  writeFileSync(
    `${file}.tmp`,
    JSON.stringify({ serverName, user: auth.user, password: auth.password }),
    {
      mode: 0o600,
    },
  );
  renameSync(`${file}.tmp`, file);
  return identity;
}

/**
 * Starts the data dir's embedded nats-server on `host:port` (monitoring 4000 ports above), with
 * the repo's nats.conf and its JetStream store under `dataDir`; resolves undefined, starting
 * nothing, when another process is starting or running it (it holds the data dir's lock) or when
 * something already answers on the port. The lock is held until the server has exited, so two
 * servers never share a store, even while one is still flushing it on its way out. Its own log
 * lines go to our logger at debug level (warnings and errors at warn).
 *
 * nats.conf takes its users' passwords from the environment and refuses to start without them, so
 * a zero-set-up start makes them: the `runtime` password is random, made once and kept in
 * `<dataDir>/nats-runtime.json` (mode 0600) for every `troupe` process sharing the data dir; clients
 * without credentials (`nats req …`) are the `submitter` user, unless TROUPE_SUBMITTER_PASSWORD is
 * set, in which case they must give it.
 */
export async function startEmbeddedNats(options: {
  host: string;
  port: number;
  dataDir: string;
  log: Logger;
}): Promise<EmbeddedNats | undefined> {
  const storeDir = join(options.dataDir, "nats");
  mkdirSync(storeDir, { recursive: true });
  const lock = await tryLock(`embedded-nats:${storeDir}`);
  if (!lock) return undefined;
  const log = options.log.child({ component: "embedded-nats" });
  let identity: EmbeddedIdentity;
  let child: ChildProcess;
  try {
    if (await probeNats(options.host, options.port)) {
      await lock.release();
      return undefined;
    }
    identity = ensureIdentity(options.dataDir);
    child = await spawnServer({ ...options, storeDir, identity, log });
  } catch (error) {
    await lock.release();
    throw error;
  }
  let exited = false;
  child.once("exit", () => {
    exited = true;
    void lock.release();
  });
  const url = `nats://${options.host}:${options.port}`;
  log.info(
    { url, serverPid: child.pid, serverName: identity.serverName, storeDir },
    "started embedded nats-server",
  );
  let closing: Promise<void> | undefined;
  return {
    url,
    pid: child.pid ?? -1,
    auth: identity.auth,
    get exited() {
      return exited;
    },
    close: () => {
      closing ??= stop(child);
      return closing;
    },
    killNow: () => {
      child.kill("SIGKILL");
    },
  };
}

async function spawnServer(options: {
  host: string;
  port: number;
  dataDir: string;
  storeDir: string;
  identity: EmbeddedIdentity;
  log: Logger;
}): Promise<ChildProcess> {
  const { log } = options;
  const { serverName, auth } = options.identity;
  const submitterPassword = process.env.TROUPE_SUBMITTER_PASSWORD;
  const confFile = join(options.dataDir, EMBEDDED_CONF);
  writeFileSync(
    confFile,
    [
      "# Generated by `troupe start` for its embedded nats-server; rewritten at each start.",
      // nats-server 2.9 joins an include to the including file's directory: the path is relative.
      `include "${relative(dirname(confFile), NATS_CONF)}"`,
      submitterPassword ? "" : "no_auth_user: submitter",
      "",
    ].join("\n"),
  );
  const monitorPort = options.port + EMBEDDED_MONITOR_PORT_OFFSET;
  return spawnNatsServer({
    args: [
      ...["-c", confFile, "-n", serverName, "-a", options.host, "-p", String(options.port)],
      ...["-m", String(monitorPort), "-sd", options.storeDir],
    ],
    env: {
      TROUPE_RUNTIME_PASSWORD: auth.password,
      TROUPE_SUBMITTER_PASSWORD: submitterPassword || randomPassword(),
    },
    onLine: (line) => (/\[(ERR|WRN|FTL)\]/.test(line) ? log.warn(line) : log.debug(line)),
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/**
 * nats-server parses a variable's value as a config value (digits become a number, `true` a
 * boolean, `#` starts a comment): a letter then hex digits is always read as the string it is.
 */
function randomPassword(): string {
  return `t${randomBytes(20).toString("hex")}`;
}
