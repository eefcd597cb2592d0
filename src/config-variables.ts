/**
 * The environment variables Troupe reads (DESIGN §2.7 and the seed services' names): one table of
 * default, accepted form and parser per variable. `loadConfig` (config.ts) reads it; the README's
 * configuration table mirrors it.
 */
import { existsSync } from "node:fs";
import { availableParallelism, totalmem } from "node:os";
import { resolve } from "node:path";
import { LOG_LEVEL_ALIASES } from "./contract/aliases.ts";
import { PLACEMENTS, type Placement } from "./contract/resources.ts";
import { DURATION_FORMS, parseDuration } from "./duration.ts";
import { FAULTS_FORM, parseFaults } from "./faults.ts";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The embedded nats-server's monitoring port is this far above its client port (as 4222, 8222). */
export const EMBEDDED_MONITOR_PORT_OFFSET = 4000;

/** Smallest LOG_MAX_BYTES: room for a few log lines a file. */
export const MIN_LOG_MAX_BYTES = 4_096;

/** One variable: its default, the accepted form (for messages) and its parser. */
export interface Variable<T> {
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
const LOG_LEVEL_OF: ReadonlyMap<string, string> = new Map(
  LOG_LEVEL_ALIASES.map((a) => [a.alias, a.canonical]),
);

/** A whole number in `[min, max]`; `_` may group digits (`5_242_880`, as Python writes them). */
function integer(min: number, max: number): Variable<number>["parse"] {
  return (text) => {
    if (!/^\d+(_\d+)*$/.test(text)) return undefined;
    const n = Number(text.replaceAll("_", ""));
    return n >= min && n <= max ? n : undefined;
  };
}

/** Like `integer`, but "" (unset) is 0, which stands for "none". */
function optionalInteger(min: number, max: number): Variable<number>["parse"] {
  return (text) => (text === "" ? 0 : integer(min, max)(text));
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
};

/** A size in bytes, `256MiB` or `1_000_000`, within `[min, max]`. */
function byteSize(min: number, max: number): Variable<number>["parse"] {
  return (text) => {
    const match = /^(\d+(?:_\d+)*)\s*([A-Za-z]*)$/.exec(text.trim());
    const unit = match ? SIZE_UNITS[(match[2] ?? "").toLowerCase()] : undefined;
    if (!match || unit === undefined) return undefined;
    const n = Number((match[1] as string).replaceAll("_", "")) * unit;
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

/** A level name in any case (`INFO`, `Warn`), Python's `WARNING` and `CRITICAL` included. */
function logLevel(text: string): LogLevel | undefined {
  const lower = text.toLowerCase();
  const level = LOG_LEVEL_OF.get(lower) ?? lower;
  return LOG_LEVEL_SET.has(level) ? (level as LogLevel) : undefined;
}

/** `*`, or comma-separated origins such as `https://app.example.com`; "" (unset) is none. */
function corsOrigins(text: string): string[] | undefined {
  if (text.trim() === "") return [];
  const origins = text.split(",").map((s) => s.trim());
  const valid = origins.every((origin) => {
    if (origin === "*") return origins.length === 1;
    try {
      const url = new URL(origin);
      return /^https?:$/.test(url.protocol) && url.origin === origin.replace(/\/$/, "");
    } catch {
      return false;
    }
  });
  return valid ? origins.map((o) => o.replace(/\/$/, "")) : undefined;
}

/** Comma-separated service names (a job's `service`, its model type by default); "" (every one) is []. */
function services(text: string): string[] | undefined {
  if (text.trim() === "") return [];
  const names = text.split(",").map((s) => s.trim());
  return names.every((name) => /^[a-z0-9_]{1,64}$/.test(name)) ? [...new Set(names)] : undefined;
}

const LABEL_PART = /^[A-Za-z0-9_.-]{1,63}$/;

/** `zone=a,disk=ssd`: each name once; "" is none. */
function labels(text: string): Record<string, string> | undefined {
  if (text.trim() === "") return {};
  const out: Record<string, string> = {};
  for (const pair of text.split(",")) {
    const [name, value, ...rest] = pair.trim().split("=");
    if (rest.length > 0 || name === undefined || value === undefined) return undefined;
    if (!LABEL_PART.test(name) || !LABEL_PART.test(value) || name in out) return undefined;
    out[name] = value;
  }
  return out;
}

/** Gigabytes, whole or not (`0.5`, `16`), in `(0, max]`. */
function gigabytes(max: number): Variable<number>["parse"] {
  return (text) => {
    if (!/^\d+(\.\d+)?$/.test(text)) return undefined;
    const n = Number(text);
    return n > 0 && n <= max ? n : undefined;
  };
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
  METRICS_PORT: {
    fallback: "",
    form: "a TCP port from 1 to 65535 (unset: /metrics on PORT only)",
    parse: optionalInteger(1, 65_535),
  },
  TLS_CERT: { fallback: "", form: "the path of an existing PEM file", parse: existingFile },
  TLS_KEY: { fallback: "", form: "the path of an existing PEM file", parse: existingFile },
  CORS_ORIGINS: {
    fallback: "",
    form: "* or comma-separated origins such as https://app.example.com (unset: no CORS)",
    parse: corsOrigins,
  },
  WORKER_ID: {
    fallback: "",
    form: "letters, digits, - and _, at most 64 (unset: host, pid and a random suffix)",
    parse: (text) => (/^[A-Za-z0-9_-]{0,64}$/.test(text) ? text : undefined),
  },
  WORKER_GPUS: {
    fallback: "0",
    form: "a whole number from 0 to 64",
    parse: integer(0, 64),
  },
  WORKER_MEMORY_GB: {
    fallback: () => String(Math.round((totalmem() / 2 ** 30) * 10) / 10),
    form: "gigabytes greater than 0, at most 65536, such as 16 or 0.5 (unset: the machine's memory)",
    parse: gigabytes(65_536),
  },
  WORKER_SERVICES: {
    fallback: "",
    form: "comma-separated services of lower-case letters, digits and _, such as neural_network,svm (unset: every service)",
    parse: services,
  },
  WORKER_LABELS: {
    fallback: "",
    form: "comma-separated name=value pairs of letters, digits, _, . and -, each name once, such as zone=a,disk=ssd",
    parse: labels,
  },
  PLACEMENT: {
    fallback: "least_loaded",
    form: PLACEMENTS.join(", "),
    parse: (text) =>
      (PLACEMENTS as readonly string[]).includes(text) ? (text as Placement) : undefined,
  },
  MAX_UNSCHEDULABLE: {
    fallback: "",
    form: `${DURATION_FORMS}, at least 1s (unset: an unschedulable job waits for as long as it takes)`,
    parse: (text) => (text === "" ? 0 : duration(1_000)(text)),
  },
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
    form: `${LOG_LEVELS.join(", ")} in any case (or warning, critical)`,
    parse: logLevel,
  },
  LOG_PRETTY: {
    fallback: "",
    form: "1, true, 0 or false (unset: pretty on a terminal)",
    parse: (text) => (text === "" ? process.stdout.isTTY === true : BOOLEANS.get(text)),
  },
  LOG_FILE: {
    fallback: "",
    form: "a file path (unset: no log file)",
    parse: (text) => (text.trim() === "" ? "" : resolve(text)),
  },
  LOG_MAX_BYTES: {
    fallback: "5_242_880",
    form: `a whole number of bytes from ${MIN_LOG_MAX_BYTES} to 1073741824`,
    parse: integer(MIN_LOG_MAX_BYTES, 1_073_741_824),
  },
  LOG_BACKUP_COUNT: {
    fallback: "5",
    form: "a whole number from 0 to 100",
    parse: integer(0, 100),
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
    parse: optionalInteger(1, 100_000),
  },
  MAX_CONCURRENT_JOBS: {
    fallback: "",
    form: "a whole number from 1 to 1000000 (unset: no cap)",
    parse: optionalInteger(1, 1_000_000),
  },
  JOB_TIMEOUT: {
    fallback: "",
    form: `${DURATION_FORMS}, 1s to 168h (unset: no deadline)`,
    parse: (text) => (text === "" ? 0 : duration(1_000, 604_800_000)(text)),
  },
  ANALYTICS_RETENTION: {
    fallback: "168h",
    form: `${DURATION_FORMS}, 1h to 8760h`,
    parse: duration(3_600_000, 8_760 * 3_600_000),
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
  RETENTION: {
    fallback: "48h",
    form: `${DURATION_FORMS}, at least 1s`,
    parse: duration(1_000),
  },
  MAX_DATASET_BYTES: {
    fallback: "256MiB",
    form: "a size such as 256MiB, 1GiB, 500MB or a whole number of bytes, from 1KiB to 64GiB",
    parse: byteSize(1024, 64 * 2 ** 30),
  },
} satisfies Record<string, Variable<unknown>>;

export type VariableName = keyof typeof VARIABLES;

export type Parsed = {
  [K in VariableName]: NonNullable<ReturnType<(typeof VARIABLES)[K]["parse"]>>;
};
