import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.ts";
import { parseDuration } from "../src/duration.ts";
import { ConfigError } from "../src/errors.ts";

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

describe("durations", () => {
  it.each([
    ["1500ms", 1500],
    ["300s", 300_000],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["1.5s", 1500],
    [" 2s ", 2000],
    ["120", 120_000],
    ["1.5", 1500],
  ])("parses %j as %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["", "5x", "5 s", "-5s", "5d", "s", "1e3ms", "5m30s"])("refuses %j", (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe("loadConfig", () => {
  it("gives the documented defaults when nothing is set", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      natsServers: ["nats://127.0.0.1:4222"],
      natsUrlIsExplicit: false,
      embeddedPort: 4222,
      prefix: "troupe",
      httpPort: 8080,
      maxConcurrentTasks: availableParallelism(),
      taskTimeoutMs: 300_000,
      workerTimeoutMs: 60_000,
      heartbeatIntervalMs: 5_000,
      maxRetries: 3,
      apiToken: undefined,
      rateLimitPerMin: 600,
      logLevel: "info",
      dataDir: resolve(".troupe"),
    });
  });

  it("parses good values to the right numbers", () => {
    const config = loadConfig({
      NATS_URL: "nats://a:4222, tls://b:4443,c:4222",
      TROUPE_PREFIX: "lab.troupe",
      PORT: "0",
      MAX_CONCURRENT_TASKS: "8",
      TASK_TIMEOUT: "5m",
      WORKER_TIMEOUT: "1500ms",
      HEARTBEAT_INTERVAL: "500ms",
      CHUNK_TARGET: "20ms",
      MAX_RETRIES: "0",
      TROUPE_API_TOKEN: "s3cret-token-0123456789",
      RATE_LIMIT_PER_MIN: "120",
      TROUPE_REPLICAS: "3",
      QUOTA_RUNNING_PER_USER: "2",
      PRIORITY_AGING: "2s",
      DRAIN_TIMEOUT: "10s",
      TROUPE_FAULTS: "worker=2x,job=0.5",
      LOG_LEVEL: "debug",
      LOG_PRETTY: "1",
      TROUPE_DATA_DIR: "/var/lib/troupe",
      MAX_DATASET_BYTES: "64MiB",
    });
    const { faults, ...rest } = config;
    expect(faults.enabled).toBe(true);
    expect(rest).toEqual({
      natsServers: ["nats://a:4222", "tls://b:4443", "c:4222"],
      natsUrlIsExplicit: true,
      embeddedPort: 4222,
      natsAuth: undefined,
      natsTls: undefined,
      prefix: "lab.troupe",
      httpPort: 0,
      metricsPort: undefined,
      httpTls: undefined,
      corsOrigins: [],
      workerId: undefined,
      workerGpus: 0,
      workerMemoryGb: expect.any(Number),
      workerServices: null,
      workerLabels: {},
      placement: "least_loaded",
      maxUnschedulableMs: undefined,
      maxConcurrentTasks: 8,
      taskTimeoutMs: 300_000,
      workerTimeoutMs: 1_500,
      heartbeatIntervalMs: 500,
      maxRetries: 0,
      apiToken: "s3cret-token-0123456789",
      rateLimitPerMin: 120,
      logLevel: "debug",
      logPretty: true,
      logFile: undefined,
      dataDir: "/var/lib/troupe",
      replicas: 3,
      quotaRunningPerUser: 2,
      maxConcurrentJobs: undefined,
      serviceRunsPerUser: new Map(),
      jobTimeoutS: undefined,
      analyticsRetentionMs: 168 * 3_600_000,
      priorityAgingMs: 2_000,
      drainTimeoutMs: 10_000,
      chunkTargetMs: 20,
      maxDatasetBytes: 64 * 2 ** 20,
      retentionMs: 48 * 3_600_000,
    });
  });

  it.each([
    ["NATS_URL", "http://example:80", "NATS URLs"],
    ["NATS_URL", "", "NATS URLs"],
    ["TROUPE_PREFIX", "troupe.>", "no wildcards"],
    ["TROUPE_PREFIX", "my prefix", "subject tokens"],
    ["PORT", "70000", "0 to 65535"],
    ["PORT", "80a", "0 to 65535"],
    ["MAX_CONCURRENT_TASKS", "0", "1 to 1024"],
    ["MAX_CONCURRENT_TASKS", "two", "1 to 1024"],
    ["TASK_TIMEOUT", "300y", "1500ms, 300s, 5m or 1h"],
    ["TASK_TIMEOUT", "10ms", "at least 1s"],
    ["WORKER_TIMEOUT", "forever", "1500ms, 300s, 5m or 1h"],
    ["HEARTBEAT_INTERVAL", "5d", "a plain number is seconds"],
    ["MAX_RETRIES", "-1", "0 to 100"],
    ["TROUPE_API_TOKEN", "short", "at least 16 characters"],
    ["RATE_LIMIT_PER_MIN", "0", "1 to 1000000"],
    ["TROUPE_REPLICAS", "2", "1, 3 or 5"],
    ["QUOTA_RUNNING_PER_USER", "0", "1 to 100000"],
    ["PRIORITY_AGING", "10ms", "at least 100ms"],
    ["DRAIN_TIMEOUT", "soon", "1500ms, 300s, 5m or 1h"],
    ["CHUNK_TARGET", "20s", "0ms to 10s"],
    ["MAX_DATASET_BYTES", "12XB", "a size such as 256MiB"],
    ["MAX_DATASET_BYTES", "100", "from 1KiB to 64GiB"],
    ["RETENTION", "500ms", "at least 1s"],
    ["TROUPE_FAULTS", "worker=2", "kind=value pairs"],
    ["TROUPE_FAULTS", "disk=0.1", "worker, job, pool, artifacts take a probability"],
    ["TROUPE_FAULTS", "pool=2", "Nx (the first N times)"],
    ["TROUPE_FAULTS", "ack-delay=soon", "ack-delay takes milliseconds"],
    ["RATE_LIMIT_PER_MIN", "ten", "1 to 1000000"],
    ["LOG_LEVEL", "verbose", "info"],
    ["LOG_MAX_BYTES", "100", "from 4096"],
    ["LOG_BACKUP_COUNT", "many", "0 to 100"],
    ["METRICS_PORT", "0", "1 to 65535"],
    ["WORKER_ID", "w.1", "letters, digits, - and _"],
    ["WORKER_GPUS", "-1", "0 to 64"],
    ["WORKER_MEMORY_GB", "0", "greater than 0"],
    ["WORKER_MEMORY_GB", "8GB", "such as 16 or 0.5"],
    ["WORKER_SERVICES", "Neural-Network", "lower-case letters, digits and _"],
    ["WORKER_LABELS", "zone", "name=value pairs"],
    ["WORKER_LABELS", "zone=a,zone=b", "each name once"],
    ["PLACEMENT", "fastest", "least_loaded, best_fit, first_fit"],
    ["MAX_UNSCHEDULABLE", "10ms", "at least 1s"],
    ["CORS_ORIGINS", "example.com", "comma-separated origins"],
    ["CORS_ORIGINS", "*,https://a.example", "comma-separated origins"],
    ["TLS_CERT", "/no/such/cert.pem", "existing PEM file"],
    ["LOG_PRETTY", "yes", "1, true, 0 or false"],
    ["TROUPE_DATA_DIR", " ", "directory"],
    ["TROUPE_EMBEDDED_PORT", "0", "1 to 61535"],
    ["TROUPE_EMBEDDED_PORT", "61536", "monitoring listens 4000 above"],
    ["MAX_CONCURRENT_JOBS", "0", "1 to 1000000"],
    ["JOB_TIMEOUT", "soon", "1s to 168h"],
    ["SERVICE_NEURAL_NETWORK_RUNS_PER_USER", "one", "1 to 100000"],
    ["SERVICE_XGBOOST_RUNS_PER_USER", "0", "1 to 100000"],
  ])("refuses %s=%j with a message naming it and the accepted form", (name, value, form) => {
    const error = configError({ [name]: value });
    expect(error.variable).toBe(name);
    expect(error.message.split("\n")).toHaveLength(1);
    expect(error.message).toContain(`${name}=${JSON.stringify(value)}`);
    expect(error.message).toContain(form);
  });

  it("reads the job-level quotas and the default job deadline", () => {
    const config = loadConfig({
      MAX_CONCURRENT_JOBS: "5",
      JOB_TIMEOUT: "90m",
      SERVICE_NEURAL_NETWORK_RUNS_PER_USER: "2",
      SERVICE_GPU_LAB_RUNS_PER_USER: "1",
    });
    expect(config.maxConcurrentJobs).toBe(5);
    expect(config.jobTimeoutS).toBe(5400);
    expect([...config.serviceRunsPerUser]).toEqual([
      ["neural_network", 2],
      ["gpu_lab", 1],
    ]);
    expect(loadConfig({})).toMatchObject({ maxConcurrentJobs: undefined, jobTimeoutS: undefined });
  });

  it("names every bad variable, one line each", () => {
    const error = configError({ PORT: "x", LOG_LEVEL: "loud" });
    expect(error.message.split("\n")).toEqual([
      expect.stringMatching(/^PORT="x" is invalid/),
      expect.stringMatching(/^LOG_LEVEL="loud" is invalid/),
    ]);
  });

  it("looks for (or starts) the embedded nats-server at TROUPE_EMBEDDED_PORT when NATS_URL is unset", () => {
    expect(loadConfig({ TROUPE_EMBEDDED_PORT: "14222" })).toMatchObject({
      natsServers: ["nats://127.0.0.1:14222"],
      natsUrlIsExplicit: false,
      embeddedPort: 14222,
    });
  });

  it("refuses TROUPE_EMBEDDED_PORT with NATS_URL, which never starts an embedded server", () => {
    const error = configError({ NATS_URL: "nats://a:4222", TROUPE_EMBEDDED_PORT: "14222" });
    expect(error.variable).toBe("TROUPE_EMBEDDED_PORT");
    expect(error.message).toContain("only when NATS_URL is unset");
  });

  it("refuses a worker timeout that is not longer than two heartbeats (a worker is stale by then)", () => {
    const error = configError({ WORKER_TIMEOUT: "10s", HEARTBEAT_INTERVAL: "5s" });
    expect(error.variable).toBe("WORKER_TIMEOUT");
    expect(error.message).toContain("longer than twice HEARTBEAT_INTERVAL (5s)");
    expect(loadConfig({ WORKER_TIMEOUT: "11s", HEARTBEAT_INTERVAL: "5s" }).workerTimeoutMs).toBe(
      11_000,
    );
  });
});

describe("NATS authentication and TLS", () => {
  const dir = mkdtempSync(join(tmpdir(), "troupe-config-"));
  const file = (name: string) => {
    const path = join(dir, name);
    writeFileSync(path, "-----BEGIN-----\n");
    return path;
  };
  const creds = file("user.creds");
  const ca = file("ca.pem");
  const cert = file("client.pem");
  const key = file("client-key.pem");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("has no credentials and no TLS files unless told", () => {
    expect(loadConfig({})).toMatchObject({ natsAuth: undefined, natsTls: undefined });
  });

  it.each([
    [
      { NATS_USER: "runtime", NATS_PASSWORD: "s3cret" },
      { kind: "user", user: "runtime", password: "s3cret" },
    ],
    [{ NATS_TOKEN: "t0ken" }, { kind: "token", token: "t0ken" }],
    [{ NATS_CREDS: creds }, { kind: "creds", credsFile: creds }],
  ])("reads one way to authenticate from %j", (env, auth) => {
    expect(loadConfig(env).natsAuth).toEqual(auth);
  });

  it("reads a CA alone, or with a client certificate and key, as absolute paths", () => {
    expect(loadConfig({ NATS_TLS_CA: ca }).natsTls).toEqual({
      caFile: ca,
      certFile: undefined,
      keyFile: undefined,
    });
    expect(loadConfig({ NATS_TLS_CA: ca, NATS_TLS_CERT: cert, NATS_TLS_KEY: key }).natsTls).toEqual(
      {
        caFile: ca,
        certFile: cert,
        keyFile: key,
      },
    );
  });

  it.each([
    ["NATS_CREDS", "/no/such/user.creds", "existing .creds file"],
    ["NATS_TLS_CA", "/no/such/ca.pem", "existing PEM file"],
    ["NATS_TLS_CERT", "/no/such/cert.pem", "existing PEM file"],
    ["NATS_PASSWORD", "two words", "without spaces"],
  ])("refuses %s=%j naming the form it accepts", (name, value, form) => {
    const error = configError({ [name]: value });
    expect(error.variable).toBe(name);
    expect(error.message).toContain(form);
  });

  it.each([
    [
      { NATS_USER: "runtime" },
      "NATS_PASSWORD",
      "NATS_PASSWORD is missing: expected it with NATS_USER",
    ],
    [
      { NATS_PASSWORD: "s3cret" },
      "NATS_USER",
      "NATS_USER is missing: expected it with NATS_PASSWORD",
    ],
    [
      { NATS_TLS_CERT: cert },
      "NATS_TLS_KEY",
      "NATS_TLS_KEY is missing: expected it with NATS_TLS_CERT",
    ],
    [
      { NATS_TLS_KEY: key },
      "NATS_TLS_CERT",
      "NATS_TLS_CERT is missing: expected it with NATS_TLS_KEY",
    ],
    [{ NATS_TOKEN: "t0ken", NATS_CREDS: creds }, "NATS_CREDS", "not NATS_TOKEN and NATS_CREDS"],
  ])("refuses %j: the pair is incomplete or the ways conflict", (env, variable, message) => {
    const error = configError(env);
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(message);
  });
});

describe("the seed services' settings", () => {
  it.each([
    ["INFO", "info"],
    ["warn", "warn"],
    ["WARNING", "warn"],
    ["Debug", "debug"],
    ["CRITICAL", "fatal"],
  ])("reads LOG_LEVEL=%s as %s (level names in any case, Python's too)", (given, level) => {
    expect(loadConfig({ LOG_LEVEL: given }).logLevel).toBe(level);
  });

  it("reads ORCHESTRATOR_TOKEN as TROUPE_API_TOKEN, and HEARTBEAT_TTL_SEC (seconds) as WORKER_TIMEOUT", () => {
    const config = loadConfig({
      ORCHESTRATOR_TOKEN: "seed-003-token-0123456789",
      HEARTBEAT_TTL_SEC: "120",
    });
    expect(config.apiToken).toBe("seed-003-token-0123456789");
    expect(config.workerTimeoutMs).toBe(120_000);
  });

  it("refuses a short ORCHESTRATOR_TOKEN naming it and the 16-character minimum", () => {
    const error = configError({ ORCHESTRATOR_TOKEN: "dev-token" });
    expect(error.variable).toBe("ORCHESTRATOR_TOKEN");
    expect(error.message).toBe(
      'ORCHESTRATOR_TOKEN="dev-token" is invalid: expected a token of at least 16 characters without spaces',
    );
  });

  it("refuses an alias and its canonical variable set to different values", () => {
    const error = configError({ HEARTBEAT_TTL_SEC: "120", WORKER_TIMEOUT: "60s" });
    expect(error.variable).toBe("HEARTBEAT_TTL_SEC");
    expect(error.message).toContain("another name for WORKER_TIMEOUT");
    expect(loadConfig({ HEARTBEAT_TTL_SEC: "90", WORKER_TIMEOUT: "90" }).workerTimeoutMs).toBe(
      90_000,
    );
  });

  it("names the alias when its value is bad, or too short for the heartbeat", () => {
    expect(configError({ HEARTBEAT_TTL_SEC: "two minutes" }).variable).toBe("HEARTBEAT_TTL_SEC");
    expect(configError({ HEARTBEAT_TTL_SEC: "8", HEARTBEAT_INTERVAL: "5s" }).message).toMatch(
      /^HEARTBEAT_TTL_SEC="8" is invalid: expected a duration longer than twice/,
    );
  });

  it("reads the worker's, the HTTP listeners' and the log file's settings", () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-tls-"));
    const pem = (name: string) => {
      writeFileSync(join(dir, name), "-----BEGIN-----\n");
      return join(dir, name);
    };
    const config = loadConfig({
      WORKER_ID: "w-1",
      WORKER_GPUS: "2",
      WORKER_MEMORY_GB: "7.5",
      WORKER_SERVICES: "neural_network, svm",
      WORKER_LABELS: "zone=a,disk=ssd",
      PLACEMENT: "best_fit",
      MAX_UNSCHEDULABLE: "5s",
      METRICS_PORT: "2112",
      CORS_ORIGINS: "https://a.example, http://localhost:3000/",
      TLS_CERT: pem("cert.pem"),
      TLS_KEY: pem("key.pem"),
      LOG_FILE: join(dir, "logs", "orchestrator.log"),
      LOG_MAX_BYTES: "5_242_880",
      LOG_BACKUP_COUNT: "2",
    });
    rmSync(dir, { recursive: true, force: true });
    expect(config).toMatchObject({
      workerId: "w-1",
      workerGpus: 2,
      workerMemoryGb: 7.5,
      workerServices: ["neural_network", "svm"],
      workerLabels: { zone: "a", disk: "ssd" },
      placement: "best_fit",
      maxUnschedulableMs: 5_000,
      metricsPort: 2112,
      corsOrigins: ["https://a.example", "http://localhost:3000"],
      httpTls: { certFile: join(dir, "cert.pem"), keyFile: join(dir, "key.pem") },
      logFile: { path: join(dir, "logs", "orchestrator.log"), maxBytes: 5_242_880, backupCount: 2 },
    });
  });

  it("refuses TLS_CERT without TLS_KEY", () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-tls-"));
    writeFileSync(join(dir, "cert.pem"), "-----BEGIN-----\n");
    const error = configError({ TLS_CERT: join(dir, "cert.pem") });
    rmSync(dir, { recursive: true, force: true });
    expect(error.variable).toBe("TLS_KEY");
    expect(error.message).toContain("TLS_KEY is missing: expected it with TLS_CERT");
  });
});
