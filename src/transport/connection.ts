import { readFileSync } from "node:fs";
import {
  type ConnectionOptions,
  connect,
  credsAuthenticator,
  type NatsConnection,
} from "@nats-io/transport-node";
import type { NatsAuth, NatsTls } from "../config.ts";
import type { Logger } from "../log.ts";
import { retrying } from "./retry.ts";
import { RUNTIME_INBOX_PREFIX } from "./subjects.ts";
import { batchSocketWrites } from "./write-batching.ts";

export type { NatsConnection };

export interface ConnectOptions {
  servers: readonly string[];
  /** Shown by `nats server report connections`. */
  name: string;
  log: Logger;
  /** Credentials (NATS_USER/NATS_PASSWORD, NATS_TOKEN or NATS_CREDS); none when undefined. */
  auth?: NatsAuth | undefined;
  /** CA and client certificate (NATS_TLS_*). */
  tls?: NatsTls | undefined;
  /** Stops the first-connect retries (a shutdown signal during start-up). */
  signal?: AbortSignal;
  /** Whether this is an embedded nats-server (started here or by another process), for the log. */
  embedded?: "started" | "joined" | false;
  /** Added to each first-connect retry line: why nothing else is tried (no embedded server). */
  unreachableHint?: string | undefined;
}

/**
 * The one NATS connection of a process. It reconnects forever with jittered back-off: a NATS
 * restart or a network blip pauses Troupe, it never kills it. The first connect is retried too
 * (until `signal` aborts), so a process may start before its NATS server does.
 */
export async function connectNats(options: ConnectOptions): Promise<NatsConnection> {
  const log = options.log.child({ component: "nats" });
  const nc = await retrying(
    () =>
      connect({
        servers: [...options.servers],
        name: options.name,
        // Forever; only the same authorization error twice in a row stops it (nats.js's default
        // ignoreAuthErrorAbort: false): wrong credentials do not heal, and the embedded server's
        // stay the same across its restarts.
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        reconnectJitter: 250,
        pingInterval: 10_000,
        inboxPrefix: RUNTIME_INBOX_PREFIX,
        // Capturing a stack for every request costs ~8 % of the main thread (bench/pipeline.ts
        // profile); a request's own error says what failed.
        noAsyncTraces: true,
        ...authOptions(options.auth),
        ...tlsOptions(options.tls),
      }),
    {
      retryable: () => true,
      onRetry: (error, attempt, delayMs) =>
        log.warn(
          {
            servers: options.servers,
            attempt,
            reason: (error as Error).message,
            delayMs,
            hint: options.unreachableHint,
          },
          "NATS unreachable; retrying",
        ),
      signal: options.signal,
    },
  );
  // Which server this is, by its own word: a user with several NATS servers can tell them apart.
  log.info(
    {
      server: nc.getServer(),
      serverName: nc.info?.server_name,
      serverVersion: nc.info?.version,
      embedded: options.embedded ?? false,
    },
    "connected to NATS",
  );
  void logStatus(nc, log);
  batchSocketWrites(nc);
  return nc;
}

/** Connection options for NATS_USER/NATS_PASSWORD, NATS_TOKEN or NATS_CREDS (also the CLI's). */
export function authOptions(auth: NatsAuth | undefined): Partial<ConnectionOptions> {
  switch (auth?.kind) {
    case undefined:
      return {};
    case "user":
      return { user: auth.user, pass: auth.password };
    case "token":
      return { token: auth.token };
    case "creds": {
      // Read at every (re)connect, so a rotated creds file is picked up without a restart.
      const file = auth.credsFile;
      return { authenticator: credsAuthenticator(() => readFileSync(file)) };
    }
  }
}

/** Connection options for NATS_TLS_* (also the CLI's). */
export function tlsOptions(tls: NatsTls | undefined): Partial<ConnectionOptions> {
  if (!tls) return {};
  const files = { caFile: tls.caFile, certFile: tls.certFile, keyFile: tls.keyFile };
  // Only the files that are set: the client reads every file named.
  return { tls: Object.fromEntries(Object.entries(files).filter(([, file]) => file)) };
}

async function logStatus(nc: NatsConnection, log: Logger): Promise<void> {
  for await (const status of nc.status()) {
    switch (status.type) {
      case "disconnect":
        log.warn({ server: status.server }, "disconnected from NATS; reconnecting");
        break;
      case "reconnect":
        log.info(
          { server: status.server, serverName: nc.info?.server_name },
          "reconnected to NATS",
        );
        break;
      case "error":
        log.error({ err: status.error }, "NATS connection error");
        break;
      case "slowConsumer":
        log.warn({ subject: status.sub.getSubject(), pending: status.pending }, "slow consumer");
        break;
      default:
        break;
    }
  }
}
