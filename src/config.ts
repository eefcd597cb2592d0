import { type LogLevel, type Parsed, VARIABLES, type Variable } from "./config-variables.ts";
import { ENV_ALIASES } from "./contract/aliases.ts";
import type { Placement } from "./contract/resources.ts";
import { ConfigError } from "./errors.ts";
import type { Faults } from "./faults.ts";

export { EMBEDDED_MONITOR_PORT_OFFSET, LOG_LEVELS, type LogLevel } from "./config-variables.ts";

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
  /** A second listener for `/metrics` and `/health` alone; undefined: none. */
  readonly metricsPort: number | undefined;
  /** HTTPS for the HTTP listeners; undefined: plain HTTP. */
  readonly httpTls: { readonly certFile: string; readonly keyFile: string } | undefined;
  /** Origins allowed by CORS (`*` for any); empty: CORS off. */
  readonly corsOrigins: readonly string[];
  /** This process's worker id; undefined: generated (host, pid, random suffix). */
  readonly workerId: string | undefined;
  /** GPUs this worker advertises. */
  readonly workerGpus: number;
  /** Memory this worker advertises and accounts (WORKER_MEMORY_GB, else the machine's). */
  readonly workerMemoryGb: number;
  /** The only services whose tasks this worker takes; null: every one. */
  readonly workerServices: readonly string[] | null;
  /** Labels a job's node_selector matches. */
  readonly workerLabels: Readonly<Record<string, string>>;
  /** How the fitting workers are chosen among; the same on every process. */
  readonly placement: Placement;
  /** An unschedulable job fails after this long; undefined: it waits. */
  readonly maxUnschedulableMs: number | undefined;
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
  /** A rotating log file beside stdout; undefined: stdout only. */
  readonly logFile: LogFileConfig | undefined;
  /** Where an embedded nats-server keeps its JetStream store. */
  readonly dataDir: string;
  /** Stream and bucket replicas (3 on a 3-node NATS cluster). */
  readonly replicas: number;
  /** Running tasks allowed per user_id across the cluster; undefined: no quota. */
  readonly quotaRunningPerUser: number | undefined;
  /** Running jobs allowed cluster-wide; undefined: no cap. */
  readonly maxConcurrentJobs: number | undefined;
  /** Running jobs allowed per user of each service (SERVICE_<NAME>_RUNS_PER_USER). */
  readonly serviceRunsPerUser: ReadonlyMap<string, number>;
  /** The deadline (whole seconds) of a job whose spec sets no timeout_s; undefined: none. */
  readonly jobTimeoutS: number | undefined;
  /** How long ended jobs' summaries are kept for analytics. */
  readonly analyticsRetentionMs: number;
  /** A priority lane waiting this long gains one rank, so low work is never starved. */
  readonly priorityAgingMs: number;
  /** On SIGTERM, how long running tasks may finish before they are handed back. */
  readonly drainTimeoutMs: number;
  /** About this much training goes into one chunk of a job's tasks (one message, post, record). */
  readonly chunkTargetMs: number;
  /** Test-only fault injection; off unless TROUPE_FAULTS is set. */
  readonly faults: Faults;
  /** Largest data set upload, in bytes; a larger one is refused (413). */
  readonly maxDatasetBytes: number;
  /** Jobs that ended longer ago than this are removed, with their results and artifacts. */
  readonly retentionMs: number;
}

/** LOG_FILE, rotated past LOG_MAX_BYTES, keeping LOG_BACKUP_COUNT older files. */
export interface LogFileConfig {
  readonly path: string;
  readonly maxBytes: number;
  readonly backupCount: number;
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

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads and validates every variable (a seed's name for one too: ENV_ALIASES). Throws one
 * ConfigError listing each bad variable, one line each, with the value it got and the form it
 * accepts.
 */
export function loadConfig(env: Env = process.env): TroupeConfig {
  const { v, problems, given } = readVariables(Object.keys(VARIABLES) as VariableName[], env);
  // A worker reads as STALE after two missed heartbeats and is removed after WORKER_TIMEOUT:
  // removed before it is even stale would make no sense.
  if (problems.length === 0 && v.WORKER_TIMEOUT <= 2 * v.HEARTBEAT_INTERVAL) {
    const timeout = given.get("WORKER_TIMEOUT") ?? { name: "WORKER_TIMEOUT", value: "60s" };
    problems.push(
      `${timeout.name}=${JSON.stringify(timeout.value)} is invalid: expected a duration longer than twice HEARTBEAT_INTERVAL (${env.HEARTBEAT_INTERVAL ?? "5s"})`,
    );
  }
  if (problems.length === 0 && Boolean(v.TLS_CERT) !== Boolean(v.TLS_KEY)) {
    const [set, missing] = v.TLS_CERT ? ["TLS_CERT", "TLS_KEY"] : ["TLS_KEY", "TLS_CERT"];
    problems.push(`${missing} is missing: expected it with ${set} (both or neither)`);
  }
  if (problems.length === 0) problems.push(...natsProblems(v, env));
  const serviceRunsPerUser = serviceQuotas(env, problems);
  throwIfAny(problems);
  return Object.freeze({
    ...natsClientConfig(v, env),
    natsUrlIsExplicit: env.NATS_URL !== undefined,
    embeddedPort: v.TROUPE_EMBEDDED_PORT,
    httpPort: v.PORT,
    metricsPort: v.METRICS_PORT === 0 ? undefined : v.METRICS_PORT,
    httpTls: v.TLS_CERT ? Object.freeze({ certFile: v.TLS_CERT, keyFile: v.TLS_KEY }) : undefined,
    corsOrigins: Object.freeze(v.CORS_ORIGINS),
    workerId: v.WORKER_ID === "" ? undefined : v.WORKER_ID,
    workerGpus: v.WORKER_GPUS,
    workerMemoryGb: v.WORKER_MEMORY_GB,
    workerServices: v.WORKER_SERVICES.length === 0 ? null : Object.freeze(v.WORKER_SERVICES),
    workerLabels: Object.freeze(v.WORKER_LABELS),
    placement: v.PLACEMENT,
    maxUnschedulableMs: v.MAX_UNSCHEDULABLE === 0 ? undefined : v.MAX_UNSCHEDULABLE,
    maxConcurrentTasks: v.MAX_CONCURRENT_TASKS,
    taskTimeoutMs: v.TASK_TIMEOUT,
    workerTimeoutMs: v.WORKER_TIMEOUT,
    heartbeatIntervalMs: v.HEARTBEAT_INTERVAL,
    maxRetries: v.MAX_RETRIES,
    apiToken: v.TROUPE_API_TOKEN === "" ? undefined : v.TROUPE_API_TOKEN,
    rateLimitPerMin: v.RATE_LIMIT_PER_MIN,
    logLevel: v.LOG_LEVEL,
    logPretty: v.LOG_PRETTY,
    logFile: logFileOf(v),
    dataDir: v.TROUPE_DATA_DIR,
    replicas: v.TROUPE_REPLICAS,
    quotaRunningPerUser: v.QUOTA_RUNNING_PER_USER === 0 ? undefined : v.QUOTA_RUNNING_PER_USER,
    maxConcurrentJobs: v.MAX_CONCURRENT_JOBS === 0 ? undefined : v.MAX_CONCURRENT_JOBS,
    serviceRunsPerUser,
    jobTimeoutS: v.JOB_TIMEOUT === 0 ? undefined : Math.ceil(v.JOB_TIMEOUT / 1000),
    analyticsRetentionMs: v.ANALYTICS_RETENTION,
    priorityAgingMs: v.PRIORITY_AGING,
    drainTimeoutMs: v.DRAIN_TIMEOUT,
    chunkTargetMs: v.CHUNK_TARGET,
    faults: v.TROUPE_FAULTS,
    maxDatasetBytes: v.MAX_DATASET_BYTES,
    retentionMs: v.RETENTION,
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
 * Parses the named variables, each under its own name or a seed's alias (ENV_ALIASES); `v` holds
 * each valid one (only those named: the caller reads no other), `problems` a line per invalid one
 * naming the variable as it was set, `given` the text and name each was set under.
 */
function readVariables(
  names: readonly VariableName[],
  env: Env,
): { v: Parsed; problems: string[]; given: Map<string, { name: string; value: string }> } {
  const problems: string[] = [];
  const values: Partial<Record<string, unknown>> = {};
  const given = withAliases(env, problems, names);
  for (const name of names) {
    const variable: Variable<unknown> = VARIABLES[name];
    const { name: shown, value: text } = given.get(name) ?? { name, value: undefined };
    const fallback =
      typeof variable.fallback === "function" ? variable.fallback() : variable.fallback;
    const value = variable.parse(text ?? fallback);
    if (value === undefined)
      problems.push(`${shown}=${JSON.stringify(text)} is invalid: expected ${variable.form}`);
    values[name] = value;
  }
  return { v: values as Parsed, problems, given };
}

const SERVICE_QUOTA = /^SERVICE_([A-Z0-9_]+)_RUNS_PER_USER$/;

/**
 * SERVICE_<NAME>_RUNS_PER_USER (seed 002): one user's running jobs of service `<name>` (its spec's
 * `service`, lower case; the model type by default), e.g. SERVICE_NEURAL_NETWORK_RUNS_PER_USER.
 */
function serviceQuotas(env: Env, problems: string[]): ReadonlyMap<string, number> {
  const quotas = new Map<string, number>();
  for (const [name, text] of Object.entries(env)) {
    const service = SERVICE_QUOTA.exec(name)?.[1];
    if (service === undefined || text === undefined) continue;
    const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
    if (value >= 1 && value <= 100_000) quotas.set(service.toLowerCase(), value);
    else
      problems.push(
        `${name}=${JSON.stringify(text)} is invalid: expected a whole number from 1 to 100000`,
      );
  }
  return quotas;
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

/**
 * Each canonical variable's text and the name it was given under: its own, or a seed's alias
 * (ORCHESTRATOR_TOKEN for TROUPE_API_TOKEN…), so a bad value's message names what the user set.
 * Both names set to different values is a problem.
 */
function withAliases(
  env: Env,
  problems: string[],
  names: readonly string[],
): Map<string, { name: string; value: string }> {
  const given = new Map<string, { name: string; value: string }>();
  for (const name of names) {
    const value = env[name];
    if (value !== undefined) given.set(name, { name, value });
  }
  for (const { alias, canonical } of ENV_ALIASES) {
    const value = env[alias];
    if (value === undefined || !names.includes(canonical)) continue;
    const own = given.get(canonical);
    if (own && own.value !== value) {
      problems.push(
        `${alias} is invalid with ${canonical}: expected one of them (${alias} is another name for ${canonical})`,
      );
    } else if (!own) {
      given.set(canonical, { name: alias, value });
    }
  }
  return given;
}

/** The log file settings, when LOG_FILE is set. */
export function logFileOf(v: Pick<Parsed, "LOG_FILE" | "LOG_MAX_BYTES" | "LOG_BACKUP_COUNT">) {
  if (v.LOG_FILE === "") return undefined;
  return Object.freeze({
    path: v.LOG_FILE,
    maxBytes: v.LOG_MAX_BYTES,
    backupCount: v.LOG_BACKUP_COUNT,
  });
}
