import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { DURATION_FORMS, parseDuration } from "./duration.ts";
import { ConfigError } from "./errors.ts";
import { FAULTS_FORM, type Faults, parseFaults } from "./faults.ts";

/** Troupe's configuration, parsed and validated once at start-up (DESIGN §2.7). */
export interface TroupeConfig {
  /** NATS servers to connect to. */
  readonly natsServers: readonly string[];
  /** False when NATS_URL was not set: then `troupe start` may run an embedded nats-server. */
  readonly natsUrlIsExplicit: boolean;
  /** Where the embedded nats-server listens on 127.0.0.1 (when NATS_URL is not set). */
  readonly embeddedPort: number;
  /** How this process proves who it is to NATS; undefined: no credentials (or in NATS_URL). */
  readonly natsAuth: NatsAuth | undefined;
  /** TLS files for the NATS connection; undefined: TLS only if a `tls://` URL asks for it. */
  readonly natsTls: NatsTls | undefined;
  /** First token(s) of every subject, stream-free: `troupe.jobs.submit`. */
  readonly prefix: string;
  /** HTTP port (0 picks a free one). */
  readonly httpPort: number;
  /** Execution slots in this process. */
  readonly maxConcurrentTasks: number;
  readonly taskTimeoutMs: number;
  readonly workerTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  /** Attempts after the first one when a job's spec does not say. */
  readonly maxRetries: number;
  /** Bearer token for the HTTP facade; undefined disables auth. */
  readonly apiToken: string | undefined;
  /** HTTP requests per client (IP address) per minute; past it, 429. */
  readonly rateLimitPerMin: number;
  readonly logLevel: LogLevel;
  readonly logPretty: boolean;
  /** Where an embedded nats-server keeps its JetStream store. */
  readonly dataDir: string;
  /** Stream and bucket replicas (3 on a 3-node NATS cluster). */
  readonly replicas: number;
  /** Running tasks allowed per user_id across the cluster; undefined: no quota. */
  readonly quotaRunningPerUser: number | undefined;
  /** A priority lane waiting this long gains one rank, so low work is never starved. */
  readonly priorityAgingMs: number;
  /** On SIGTERM, how long running tasks may finish before they are handed back. */
  readonly drainTimeoutMs: number;
  /** About this much training goes into one chunk of a job's tasks (one message, post, record). */
  readonly chunkTargetMs: number;
  /** Test-only fault injection; off unless TROUPE_FAULTS is set. */
  readonly faults: Faults;
}

/** One way of authenticating to NATS (NATS_USER/NATS_PASSWORD, NATS_TOKEN or NATS_CREDS). */
export type NatsAuth =
  | { readonly kind: "user"; readonly user: string; readonly password: string }
  | { readonly kind: "token"; readonly token: string }
  /** A `.creds` file (JWT and NKey seed), read again at each reconnect so it may be rotated. */
  | { readonly kind: "creds"; readonly credsFile: string };

/** TLS for the NATS connection: a CA to trust and, for mutual TLS, a client certificate. */
export interface NatsTls {
  readonly caFile: string | undefined;
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
}

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

type Env = Readonly<Record<string, string | undefined>>;

/** The embedded nats-server's monitoring port is this far above its client port (as 4222, 8222). */
export const EMBEDDED_MONITOR_PORT_OFFSET = 4000;

/** One variable: its default, the accepted form (for messages) and its parser. */
interface Variable<T> {
  readonly fallback: string | (() => string);
  readonly form: string;
  /** Returns the value, or undefined when the text is not of the accepted form. */
  readonly parse: (text: string) => T | undefined;
}

const SUBJECT_TOKENS = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const NATS_SCHEMES = new Set(["nats:", "tls:", "ws:", "wss:"]);
const BOOLEANS: ReadonlyMap<string, boolean> = new Map([
  ["1", true],
  ["true", true],
  ["0", false],
  ["false", false],
]);
const LOG_LEVEL_SET: ReadonlySet<string> = new Set(LOG_LEVELS);

function integer(min: number, max: number): Variable<number>["parse"] {
  return (text) => {
    if (!/^\d+$/.test(text)) return undefined;
    const n = Number(text);
    return n >= min && n <= max ? n : undefined;
  };
}

function duration(minMs: number, maxMs = Number.POSITIVE_INFINITY): Variable<number>["parse"] {
  return (text) => {
    const ms = parseDuration(text);
    return ms !== undefined && ms >= minMs && ms <= maxMs ? ms : undefined;
  };
}

/** An existing file's absolute path; "" (unset) stays "". */
function existingFile(text: string): string | undefined {
  if (text === "") return "";
  const path = resolve(text);
  return existsSync(path) ? path : undefined;
}

/** Any text without spaces; "" (unset) stays "". */
function secret(text: string): string | undefined {
  return /^\S*$/.test(text) ? text : undefined;
}

function natsServers(text: string): string[] | undefined {
  const servers = text.split(",").map((s) => s.trim());
  const valid = servers.every((server) => {
    try {
      const url = new URL(server.includes("://") ? server : `nats://${server}`);
      return NATS_SCHEMES.has(url.protocol) && url.hostname !== "";
    } catch {
      return false;
    }
  });
  return valid && servers.length > 0 ? servers : undefined;
}

/** The table every variable is read from; the README's configuration table mirrors it. */
export const VARIABLES = {
  NATS_URL: {
    fallback: "nats://127.0.0.1:4222",
    form: "comma-separated NATS URLs such as nats://host:4222 (schemes nats, tls, ws, wss)",
    parse: natsServers,
  },
  NATS_USER: { fallback: "", form: "a user name without spaces", parse: secret },
  NATS_PASSWORD: { fallback: "", form: "a password without spaces", parse: secret },
  NATS_TOKEN: { fallback: "", form: "a token without spaces", parse: secret },
  NATS_CREDS: { fallback: "", form: "the path of an existing .creds file", parse: existingFile },
  NATS_TLS_CA: { fallback: "", form: "the path of an existing PEM file", parse: existingFile },
  NATS_TLS_CERT: { fallback: "", form: "the path of an existing PEM file", parse: existingFile },
  NATS_TLS_KEY: { fallback: "", form: "the path of an existing PEM file", parse: existingFile },
  TROUPE_PREFIX: {
    fallback: "troupe",
    form: "subject tokens of letters, digits, - and _, separated by dots (no wildcards)",
    parse: (text) => (SUBJECT_TOKENS.test(text) ? text : undefined),
  },
  PORT: { fallback: "8080", form: "a TCP port from 0 to 65535", parse: integer(0, 65_535) },
  MAX_CONCURRENT_TASKS: {
    fallback: () => String(availableParallelism()),
    form: "a whole number from 1 to 1024",
    parse: integer(1, 1024),
  },
  TASK_TIMEOUT: {
    fallback: "300s",
    form: `${DURATION_FORMS}, at least 1s`,
    parse: duration(1_000),
  },
  WORKER_TIMEOUT: {
    fallback: "60s",
    form: `${DURATION_FORMS}, at least 1s`,
    parse: duration(1_000),
  },
  HEARTBEAT_INTERVAL: {
    fallback: "5s",
    form: `${DURATION_FORMS}, at least 100ms`,
    parse: duration(100),
  },
  MAX_RETRIES: { fallback: "3", form: "a whole number from 0 to 100", parse: integer(0, 100) },
  TROUPE_API_TOKEN: {
    fallback: "",
    form: "a token of at least 16 characters without spaces",
    parse: (text) => (text === "" || /^\S{16,}$/.test(text) ? text : undefined),
  },
  RATE_LIMIT_PER_MIN: {
    fallback: "600",
    form: "a whole number from 1 to 1000000",
    parse: integer(1, 1_000_000),
  },
  LOG_LEVEL: {
    fallback: "info",
    form: LOG_LEVELS.join(", "),
    parse: (text) => (LOG_LEVEL_SET.has(text) ? (text as LogLevel) : undefined),
  },
  LOG_PRETTY: {
    fallback: "",
    form: "1, true, 0 or false (unset: pretty on a terminal)",
    parse: (text) => (text === "" ? process.stdout.isTTY === true : BOOLEANS.get(text)),
  },
  TROUPE_DATA_DIR: {
    fallback: ".troupe",
    form: "a directory path",
    parse: (text) => (text.trim() === "" ? undefined : resolve(text)),
  },
  TROUPE_EMBEDDED_PORT: {
    fallback: "4222",
    form: `a TCP port from 1 to ${65_535 - EMBEDDED_MONITOR_PORT_OFFSET} (monitoring listens ${EMBEDDED_MONITOR_PORT_OFFSET} above)`,
    parse: integer(1, 65_535 - EMBEDDED_MONITOR_PORT_OFFSET),
  },
  TROUPE_REPLICAS: {
    fallback: "1",
    form: "1, 3 or 5",
    parse: (text) => (["1", "3", "5"].includes(text) ? Number(text) : undefined),
  },
  QUOTA_RUNNING_PER_USER: {
    fallback: "",
    form: "a whole number from 1 to 100000 (unset: no quota)",
    parse: (text) => (text === "" ? 0 : integer(1, 100_000)(text)),
  },
  PRIORITY_AGING: {
    fallback: "5s",
    form: `${DURATION_FORMS}, at least 100ms`,
    parse: duration(100),
  },
  DRAIN_TIMEOUT: { fallback: "30s", form: `${DURATION_FORMS}`, parse: duration(0) },
  CHUNK_TARGET: {
    fallback: "50ms",
    form: `${DURATION_FORMS}, 0ms to 10s (0ms: one task a chunk)`,
    parse: duration(0, 10_000),
  },
  TROUPE_FAULTS: { fallback: "", form: FAULTS_FORM, parse: parseFaults },
} satisfies Record<string, Variable<unknown>>;

type Parsed = {
  [K in keyof typeof VARIABLES]: NonNullable<ReturnType<(typeof VARIABLES)[K]["parse"]>>;
};

/**
 * Reads and validates every variable. Throws one ConfigError listing each bad variable, one line
 * each, with the value it got and the form it accepts.
 */
export function loadConfig(env: Env = process.env): TroupeConfig {
  const { v, problems } = readVariables(Object.keys(VARIABLES) as VariableName[], env);
  // A worker reads as STALE after two missed heartbeats and is removed after WORKER_TIMEOUT:
  // removed before it is even stale would make no sense.
  if (problems.length === 0 && v.WORKER_TIMEOUT <= 2 * v.HEARTBEAT_INTERVAL) {
    problems.push(
      `WORKER_TIMEOUT=${JSON.stringify(env.WORKER_TIMEOUT ?? "60s")} is invalid: expected a duration longer than twice HEARTBEAT_INTERVAL (${env.HEARTBEAT_INTERVAL ?? "5s"})`,
    );
  }
  if (problems.length === 0) problems.push(...natsProblems(v, env));
  throwIfAny(problems);
  return Object.freeze({
    ...natsClientConfig(v, env),
    natsUrlIsExplicit: env.NATS_URL !== undefined,
    embeddedPort: v.TROUPE_EMBEDDED_PORT,
    httpPort: v.PORT,
    maxConcurrentTasks: v.MAX_CONCURRENT_TASKS,
    taskTimeoutMs: v.TASK_TIMEOUT,
    workerTimeoutMs: v.WORKER_TIMEOUT,
    heartbeatIntervalMs: v.HEARTBEAT_INTERVAL,
    maxRetries: v.MAX_RETRIES,
    apiToken: v.TROUPE_API_TOKEN === "" ? undefined : v.TROUPE_API_TOKEN,
    rateLimitPerMin: v.RATE_LIMIT_PER_MIN,
    logLevel: v.LOG_LEVEL,
    logPretty: v.LOG_PRETTY,
    dataDir: v.TROUPE_DATA_DIR,
    replicas: v.TROUPE_REPLICAS,
    quotaRunningPerUser: v.QUOTA_RUNNING_PER_USER === 0 ? undefined : v.QUOTA_RUNNING_PER_USER,
    priorityAgingMs: v.PRIORITY_AGING,
    drainTimeoutMs: v.DRAIN_TIMEOUT,
    chunkTargetMs: v.CHUNK_TARGET,
    faults: v.TROUPE_FAULTS,
  });
}

/** Where NATS is, how to log in and the subject prefix: what a client of the public subjects needs. */
export interface NatsClientConfig {
  readonly natsServers: readonly string[];
  readonly natsAuth: NatsAuth | undefined;
  readonly natsTls: NatsTls | undefined;
  readonly prefix: string;
}

const NATS_CLIENT_VARIABLES = [
  "NATS_URL",
  "NATS_USER",
  "NATS_PASSWORD",
  "NATS_TOKEN",
  "NATS_CREDS",
  "NATS_TLS_CA",
  "NATS_TLS_CERT",
  "NATS_TLS_KEY",
  "TROUPE_PREFIX",
  "TROUPE_EMBEDDED_PORT",
] as const satisfies readonly VariableName[];

/**
 * The NATS connection variables alone, read and checked exactly as `loadConfig` does, for the
 * `troupe` CLI's commands: a bad variable the CLI does not use must not stop them.
 * @throws ConfigError listing each bad variable, one line each.
 */
export function loadNatsClientConfig(env: Env = process.env): NatsClientConfig {
  const { v, problems } = readVariables(NATS_CLIENT_VARIABLES, env);
  if (problems.length === 0) problems.push(...natsProblems(v, env));
  throwIfAny(problems);
  return Object.freeze(natsClientConfig(v, env));
}

type VariableName = keyof typeof VARIABLES;

/**
 * Parses the named variables; `v` holds each valid one (only those named: the caller reads no
 * other), `problems` a line per invalid one.
 */
function readVariables(
  names: readonly VariableName[],
  env: Env,
): { v: Parsed; problems: string[] } {
  const problems: string[] = [];
  const values: Partial<Record<string, unknown>> = {};
  for (const name of names) {
    const variable: Variable<unknown> = VARIABLES[name];
    const given = env[name];
    const fallback =
      typeof variable.fallback === "function" ? variable.fallback() : variable.fallback;
    const value = variable.parse(given ?? fallback);
    if (value === undefined)
      problems.push(`${name}=${JSON.stringify(given)} is invalid: expected ${variable.form}`);
    values[name] = value;
  }
  return { v: values as Parsed, problems };
}

function throwIfAny(problems: readonly string[]): void {
  if (problems.length === 0) return;
  const first = problems[0]?.split(/[= ]/)[0] ?? "config";
  throw new ConfigError(first, problems.join("\n"));
}

function natsClientConfig(v: Parsed, env: Env): NatsClientConfig {
  return {
    natsServers: Object.freeze(
      env.NATS_URL === undefined ? [`nats://127.0.0.1:${v.TROUPE_EMBEDDED_PORT}`] : v.NATS_URL,
    ),
    natsAuth: natsAuth(v),
    natsTls:
      v.NATS_TLS_CA || v.NATS_TLS_CERT
        ? Object.freeze({
            caFile: v.NATS_TLS_CA || undefined,
            certFile: v.NATS_TLS_CERT || undefined,
            keyFile: v.NATS_TLS_KEY || undefined,
          })
        : undefined,
    prefix: v.TROUPE_PREFIX,
  };
}

/** An embedded port with NATS_URL, pairs that go together, at most one way of authenticating. */
function natsProblems(v: Parsed, env: Env): string[] {
  const problems: string[] = [];
  if (env.NATS_URL !== undefined && env.TROUPE_EMBEDDED_PORT !== undefined) {
    problems.push(
      "TROUPE_EMBEDDED_PORT is invalid with NATS_URL: expected one of them (an embedded nats-server is started only when NATS_URL is unset)",
    );
    return problems;
  }
  if (Boolean(v.NATS_USER) !== Boolean(v.NATS_PASSWORD)) {
    const [set, missing] = v.NATS_USER
      ? ["NATS_USER", "NATS_PASSWORD"]
      : ["NATS_PASSWORD", "NATS_USER"];
    problems.push(`${missing} is missing: expected it with ${set} (both or neither)`);
  }
  const ways = [
    v.NATS_USER && "NATS_USER",
    v.NATS_TOKEN && "NATS_TOKEN",
    v.NATS_CREDS && "NATS_CREDS",
  ];
  const given = ways.filter((way) => way !== "");
  if (given.length > 1) {
    problems.push(
      `${given[1]} is invalid: expected one way to authenticate, not ${given.join(" and ")}`,
    );
  }
  if (Boolean(v.NATS_TLS_CERT) !== Boolean(v.NATS_TLS_KEY)) {
    const [set, missing] = v.NATS_TLS_CERT
      ? ["NATS_TLS_CERT", "NATS_TLS_KEY"]
      : ["NATS_TLS_KEY", "NATS_TLS_CERT"];
    problems.push(`${missing} is missing: expected it with ${set} (both or neither)`);
  }
  return problems;
}

function natsAuth(v: Parsed): NatsAuth | undefined {
  if (v.NATS_USER)
    return Object.freeze({ kind: "user", user: v.NATS_USER, password: v.NATS_PASSWORD });
  if (v.NATS_TOKEN) return Object.freeze({ kind: "token", token: v.NATS_TOKEN });
  if (v.NATS_CREDS) return Object.freeze({ kind: "creds", credsFile: v.NATS_CREDS });
  return undefined;
}
