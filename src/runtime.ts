import { hostname } from "node:os";
import type { TroupeConfig } from "./config.ts";
import type { Logger } from "./log.ts";
import { connectNats, type NatsConnection } from "./transport/connection.ts";
import { type EmbeddedNats, isListening, startEmbeddedNats } from "./transport/embedded-server.ts";

export interface Runtime {
  /** Connects (starting an embedded nats-server when allowed and needed). Idempotent. */
  start(): Promise<void>;
  /** Ordered, bounded shutdown; every step runs even if an earlier one failed. Memoized. */
  close(): Promise<void>;
  /** Resolves once closed, with the error that closed it, if any. Never rejects. */
  closed(): Promise<Error | undefined>;
  /** For a forced exit (a second signal): kills child processes at once, synchronously. */
  killChildrenNow(): void;
  /** The NATS URL in use (the embedded server's when one was started). */
  readonly natsUrl: string;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface RuntimeOptions {
  config: TroupeConfig;
  log: Logger;
}

/** One `troupe` process: its NATS connection and, as they land, its actors, pool and doors. */
export function createRuntime(options: RuntimeOptions): Runtime {
  return new TroupeRuntime(options);
}

class TroupeRuntime implements Runtime {
  #config: TroupeConfig;
  #log: Logger;
  #embedded: EmbeddedNats | undefined;
  #nc: NatsConnection | undefined;
  #starting: Promise<void> | undefined;
  #abortStart = new AbortController();
  #closing: Promise<void> | undefined;
  #closedWith: Error | undefined;
  #resolveClosed!: (error: Error | undefined) => void;
  #closed = new Promise<Error | undefined>((resolve) => {
    this.#resolveClosed = resolve;
  });

  constructor(options: RuntimeOptions) {
    this.#config = options.config;
    this.#log = options.log;
  }

  get natsUrl(): string {
    return this.#embedded?.url ?? this.#config.natsServers.join(",");
  }

  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.#embedded = await this.#maybeStartEmbedded();
    this.#nc = await connectNats({
      servers: this.#embedded ? [this.#embedded.url] : this.#config.natsServers,
      name: `troupe@${hostname()}:${process.pid}`,
      log: this.#log,
      signal: this.#abortStart.signal,
    });
    // A connection that closes on its own (not through close()) is fatal for the process.
    void this.#nc.closed().then((error) => {
      if (!this.#closing) void this.#fail(error ?? new Error("NATS connection closed"));
    });
  }

  /** Without an explicit NATS_URL, a laptop with no NATS running gets one of its own. */
  async #maybeStartEmbedded(): Promise<EmbeddedNats | undefined> {
    if (this.#config.natsUrlIsExplicit) return undefined;
    const url = new URL(this.#config.natsServers[0] ?? "nats://127.0.0.1:4222");
    const host = url.hostname;
    const port = Number(url.port || 4222);
    if (await isListening(host, port)) return undefined;
    this.#log.info({ host, port }, "no NATS server answers; starting an embedded one");
    return startEmbeddedNats({ host, port, dataDir: this.#config.dataDir, log: this.#log });
  }

  async #fail(error: Error): Promise<void> {
    this.#closedWith ??= error;
    await this.close();
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#abortStart.abort();
    await this.#starting?.catch(() => undefined);
    const steps: [string, () => Promise<void> | undefined][] = [
      ["drain NATS connection", () => (this.#nc?.isClosed() ? undefined : this.#nc?.drain())],
      ["stop embedded nats-server", () => this.#embedded?.close()],
    ];
    for (const [name, step] of steps) {
      try {
        await step();
      } catch (error) {
        this.#log.warn({ err: error, step: name }, "shutdown step failed");
      }
    }
    this.#resolveClosed(this.#closedWith);
  }

  closed(): Promise<Error | undefined> {
    return this.#closed;
  }

  /** For a forced exit (second signal): no waiting, no child left behind. */
  killChildrenNow(): void {
    this.#embedded?.killNow();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
