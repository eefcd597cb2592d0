import { setTimeout as sleep } from "node:timers/promises";
import type { NatsAuth } from "../config.ts";
import type { Logger } from "../log.ts";
import type { NatsConnection } from "./connection.ts";
import {
  type EmbeddedNats,
  probeNats,
  readEmbeddedIdentity,
  startEmbeddedNats,
} from "./embedded-server.ts";

/**
 * Pause between tries to start the embedded server while another process holds its lock (it is
 * starting the server, or stopping it and waiting for the store to be flushed).
 */
const LOCK_RETRY_MS = 250;
/** Pause after a failed start before a surviving process tries again. */
const FAILED_START_RETRY_MS = 2_000;

export interface LocalNatsOptions {
  host: string;
  port: number;
  dataDir: string;
  /** Configured credentials (NATS_USER …): used instead of the data dir's when joining a server. */
  auth: NatsAuth | undefined;
  log: Logger;
  /** Stops the wait for another process's server (a shutdown during start-up). */
  signal: AbortSignal;
}

/**
 * The NATS server of `troupe start` without NATS_URL: the data dir's embedded one (started here
 * or joined), or whatever other NATS server answers at its address.
 */
export interface LocalNats {
  readonly url: string;
  readonly auth: NatsAuth | undefined;
  /**
   * `started`: this process started the data dir's embedded server; `joined`: another process
   * did; false: another NATS server answers at the address, used as it is.
   */
  readonly embedded: "started" | "joined" | false;
  /**
   * Until `signal` aborts: whenever `nc` loses the data dir's embedded server and nothing listens
   * at its address, start it again here, on the same store with the same credentials — the
   * process that started it may have exited. When several survivors try, the lock picks one;
   * the others reconnect to it.
   */
  keep(nc: NatsConnection, signal: AbortSignal): void;
  /** Stops the embedded server this process runs, if any (after its connection has drained). */
  close(): Promise<void>;
  /** For a forced exit: kills that server at once. */
  killNow(): void;
}

/** Joins the NATS server at host:port, or starts the data dir's embedded one when none answers. */
export async function joinLocalNats(options: LocalNatsOptions): Promise<LocalNats> {
  const { host, port, dataDir, signal } = options;
  const log = options.log.child({ component: "embedded-nats" });
  const url = `nats://${host}:${port}`;
  let waiting = false;
  for (;;) {
    signal.throwIfAborted();
    const info = await probeNats(host, port);
    if (info) {
      const identity = readEmbeddedIdentity(dataDir);
      if (identity && info.serverName === identity.serverName) {
        return new KeptNats(options, url, options.auth ?? identity.auth, "joined");
      }
      log.warn(
        { url, serverName: info.serverName },
        "NATS_URL is unset and a NATS server that is not this data dir's embedded one answers at its address: using it (set NATS_URL to choose the server, or TROUPE_EMBEDDED_PORT to move the embedded one)",
      );
      return new KeptNats(options, url, options.auth, false);
    }
    const server = await startEmbeddedNats({ host, port, dataDir, log: options.log });
    if (server) return new KeptNats(options, url, server.auth, "started", server);
    if (!waiting) {
      log.info({ url }, "another troupe process is starting the embedded nats-server; waiting");
      waiting = true;
    }
    await sleep(LOCK_RETRY_MS, undefined, { signal });
  }
}

class KeptNats implements LocalNats {
  #options: LocalNatsOptions;
  #log: Logger;
  #server: EmbeddedNats | undefined;
  #starting: Promise<void> | undefined;
  #closed = false;

  constructor(
    options: LocalNatsOptions,
    readonly url: string,
    readonly auth: NatsAuth | undefined,
    readonly embedded: "started" | "joined" | false,
    server?: EmbeddedNats,
  ) {
    this.#options = options;
    this.#log = options.log.child({ component: "embedded-nats" });
    this.#server = server;
  }

  keep(nc: NatsConnection, signal: AbortSignal): void {
    // A server that is not the data dir's holds other state: starting ours instead would fork it.
    if (this.embedded === false) return;
    void this.#watch(nc, signal);
  }

  async #watch(nc: NatsConnection, signal: AbortSignal): Promise<void> {
    let down: AbortController | undefined;
    signal.addEventListener("abort", () => down?.abort(), { once: true });
    for await (const status of nc.status()) {
      if (signal.aborted) break;
      if (status.type === "disconnect" && !down) {
        down = new AbortController();
        this.#starting = this.#restartWhileDown(down.signal);
      } else if (status.type === "reconnect") {
        down?.abort();
        down = undefined;
      }
    }
    down?.abort();
  }

  /** Until reconnected (or stopped): start the server when the lock is free and nothing listens. */
  async #restartWhileDown(signal: AbortSignal): Promise<void> {
    const { host, port, dataDir } = this.#options;
    while (!signal.aborted && !this.#closed) {
      if (this.#server && !this.#server.exited) return; // ours still runs: the client reconnects
      let pauseMs = LOCK_RETRY_MS;
      try {
        const server = await startEmbeddedNats({ host, port, dataDir, log: this.#options.log });
        if (server) {
          this.#server = server;
          this.#log.info(
            { url: this.url },
            "the embedded nats-server had stopped: started it here",
          );
          return;
        }
      } catch (error) {
        this.#log.warn({ err: error }, "could not start the embedded nats-server; trying again");
        pauseMs = FAILED_START_RETRY_MS;
      }
      await sleep(pauseMs, undefined, { signal }).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#starting;
    await this.#server?.close();
  }

  killNow(): void {
    this.#server?.killNow();
  }
}
