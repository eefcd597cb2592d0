import type { ObjectStore } from "@nats-io/obj";
import { connect, errors, type Msg, type NatsConnection } from "@nats-io/transport-node";
import type { NatsAuth, NatsTls } from "../config.ts";
import type { TroupeEvent } from "../contract/events.ts";
import { NatsUnreachableError, TroupeError } from "../errors.ts";
import { authOptions, tlsOptions } from "./connection.ts";
import { chunksOf } from "./object-chunks.ts";
import { type Names, names } from "./subjects.ts";

/** A public request subject (DESIGN §2.3), by its name in `Names["api"]`. */
export type ApiRequest = keyof Names["api"];

export interface ClientOptions {
  servers: readonly string[];
  auth?: NatsAuth | undefined;
  tls?: NatsTls | undefined;
  /** TROUPE_PREFIX. */
  prefix: string;
  /** Shown by `nats server report connections`. */
  name: string;
  /**
   * How long the first connect may take before the server counts as unreachable.
   * @default 5_000 — a person is waiting at a prompt.
   */
  connectTimeoutMs?: number;
  /**
   * How long a request waits for its reply.
   * @default 10_000 — longer than any gateway call, short enough for a person.
   */
  requestTimeoutMs?: number;
}

/** One event as it arrived, with its subject. */
export interface ReceivedEvent {
  subject: string;
  event: TroupeEvent;
}

export interface SubscribeOptions {
  signal: AbortSignal;
  /** Consulted for each message before it is decoded: false drops it. */
  accept?: (subject: string) => boolean;
}

/**
 * A client of Troupe's public subjects only — the request/reply API and `troupe.events.>` — as
 * `nats req` and `nats sub` are: JSON in, JSON out, with the default `_INBOX` reply prefix a
 * submitter may read. For the `troupe` CLI, which must not reach past the public contract.
 */
export interface TroupeClient extends AsyncDisposable {
  readonly names: Names;
  /** The server connected to, `host:port`. */
  readonly server: string;
  /**
   * Sends a JSON request and resolves with the decoded reply.
   * @throws TroupeError with the reply's `code` and message for an error reply;
   *   NatsUnreachableError when no `troupe` process answers in time or the connection is lost.
   */
  request<T>(which: ApiRequest, body: unknown): Promise<T>;
  /**
   * Events on `subjects` from this call on (subscribed at once; read them once), in arrival order,
   * until `signal` aborts or the connection closes. A reader that falls 10,000 events behind
   * loses the oldest (events are a live view).
   */
  subscribe(subjects: readonly string[], options: SubscribeOptions): AsyncIterable<ReceivedEvent>;
  /**
   * A job's artifact as `nats obj get <prefix>_artifacts <job_id>/<name>` reads it (the submitter
   * may read that bucket); undefined when there is no such object.
   */
  readArtifact(jobId: string, name: string): Promise<AsyncIterable<Uint8Array> | undefined>;
  /** Calls `listener` after each reconnect (events sent meanwhile were missed: re-read state). */
  onReconnect(listener: () => void): void;
  /** Resolves once the connection has closed for good (reconnects gave up), with why. */
  lost(): Promise<Error>;
  /** Flushes and closes; memoized. */
  close(): Promise<void>;
}

const DEFAULTS = Object.freeze({ connectTimeoutMs: 5_000, requestTimeoutMs: 10_000 });
/** Reconnect attempts before a lost connection counts as gone: about half a minute. */
const RECONNECT_ATTEMPTS = 60;
const RECONNECT_WAIT_MS = 500;
const EVENTS_BUFFER = 10_000;
const encoder = new TextEncoder();

/**
 * Connects once (no retries: a person at a prompt wants to know at once).
 * @throws NatsUnreachableError naming the servers and the reason.
 */
export async function connectClient(options: ClientOptions): Promise<TroupeClient> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: [...options.servers],
      name: options.name,
      timeout: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      maxReconnectAttempts: RECONNECT_ATTEMPTS,
      reconnectTimeWait: RECONNECT_WAIT_MS,
      ...authOptions(options.auth),
      ...tlsOptions(options.tls),
    });
  } catch (error) {
    throw new NatsUnreachableError(
      `cannot reach NATS at ${options.servers.join(", ")}: ${reasonOf(error)}`,
      { cause: error },
    );
  }
  return new Client(nc, names(options.prefix), options.requestTimeoutMs);
}

class Client implements TroupeClient {
  readonly names: Names;
  readonly #nc: NatsConnection;
  readonly #timeoutMs: number;
  readonly #reconnectListeners = new Set<() => void>();
  readonly #lost: Promise<Error>;
  #closing: Promise<void> | undefined;
  #artifacts: Promise<ObjectStore> | undefined;

  constructor(nc: NatsConnection, n: Names, timeoutMs: number = DEFAULTS.requestTimeoutMs) {
    this.#nc = nc;
    this.names = n;
    this.#timeoutMs = timeoutMs;
    this.#lost = nc
      .closed()
      .then(
        (error) =>
          new NatsUnreachableError(
            `lost the connection to NATS at ${this.server}${error ? `: ${reasonOf(error)}` : ""}`,
          ),
      );
    void this.#watchStatus();
  }

  get server(): string {
    return this.#nc.getServer();
  }

  async request<T>(which: ApiRequest, body: unknown): Promise<T> {
    const subject = this.names.api[which];
    let reply: Msg;
    try {
      // JSON, as `nats req` sends (codec.ts would load msgpackr: a tenth of a second per command).
      reply = await this.#nc.request(subject, encoder.encode(JSON.stringify(body ?? {})), {
        timeout: this.#timeoutMs,
      });
    } catch (error) {
      throw unanswered(error, subject, this.server, this.#timeoutMs);
    }
    const decoded = JSON.parse(new TextDecoder().decode(reply.data)) as unknown;
    const failure = (decoded as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    if (typeof failure?.code === "string" && reply.headers?.get("Nats-Service-Error-Code")) {
      const status = Number(reply.headers.get("Nats-Service-Error-Code"));
      throw new TroupeError(failure.code, String(failure.message ?? failure.code), {
        statusCode: Number.isInteger(status) && status >= 400 ? status : 500,
      });
    }
    return decoded as T;
  }

  subscribe(subjects: readonly string[], options: SubscribeOptions): AsyncIterable<ReceivedEvent> {
    const { signal, accept } = options;
    const decoder = new TextDecoder();
    const buffered: ReceivedEvent[] = [];
    let wake: (() => void) | undefined;
    let done = signal.aborted;
    const notify = () => {
      const resolve = wake;
      wake = undefined;
      resolve?.();
    };
    const onMessage = (error: Error | null, msg: Msg) => {
      if (error || done || (accept && !accept(msg.subject))) return;
      try {
        const event = JSON.parse(decoder.decode(msg.data)) as TroupeEvent;
        if (buffered.length >= EVENTS_BUFFER) buffered.shift();
        buffered.push({ subject: msg.subject, event });
      } catch {
        return; // not an event: events are JSON
      }
      notify();
    };
    // Subscribed now, not when iteration starts: a caller subscribes before it acts (submits,
    // reads a record), so that no event of what follows is missed.
    const subs = done
      ? []
      : subjects.map((subject) => this.#nc.subscribe(subject, { callback: onMessage }));
    const finish = () => {
      done = true;
      signal.removeEventListener("abort", finish);
      for (const sub of subs) if (!sub.isClosed()) sub.unsubscribe();
      notify();
    };
    signal.addEventListener("abort", finish, { once: true });
    for (const sub of subs) void sub.closed.then(finish, finish);
    const iterator: AsyncIterator<ReceivedEvent> = {
      async next() {
        while (!done && buffered.length === 0) await new Promise<void>((r) => (wake = r));
        const item = buffered.shift();
        return item ? { value: item, done: false } : { value: undefined, done: true };
      },
      async return() {
        finish();
        buffered.length = 0;
        return { value: undefined, done: true };
      },
    };
    return { [Symbol.asyncIterator]: () => iterator };
  }

  async readArtifact(jobId: string, name: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    try {
      // Loaded here: the object store client would slow every other command's start.
      this.#artifacts ??= import("@nats-io/obj").then(({ Objm }) =>
        new Objm(this.#nc).open(this.names.buckets.artifacts),
      );
      const result = await (await this.#artifacts).get(`${jobId}/${name}`);
      return result ? chunksOf(result) : undefined;
    } catch (error) {
      this.#artifacts = undefined;
      throw unanswered(error, this.names.buckets.artifacts, this.server, this.#timeoutMs);
    }
  }

  onReconnect(listener: () => void): void {
    this.#reconnectListeners.add(listener);
  }

  lost(): Promise<Error> {
    return this.#lost;
  }

  close(): Promise<void> {
    this.#closing ??= this.#nc.isClosed() ? Promise.resolve() : this.#nc.close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #watchStatus(): Promise<void> {
    for await (const status of this.#nc.status()) {
      if (status.type === "reconnect") for (const listener of this.#reconnectListeners) listener();
    }
  }
}

/** Why a request got no reply, as a person can act on it. */
function unanswered(error: unknown, subject: string, server: string, timeoutMs: number): Error {
  const request = error instanceof errors.RequestError ? error : undefined;
  const cause = request?.cause ?? error;
  if (cause instanceof errors.NoRespondersError || request?.isNoResponders())
    return new NatsUnreachableError(
      `no troupe process answers ${subject} on NATS at ${server} (is \`troupe start\` running against this server, with the same TROUPE_PREFIX?)`,
      { cause: error },
    );
  if (cause instanceof errors.TimeoutError)
    return new NatsUnreachableError(`no answer on ${subject} within ${timeoutMs / 1000} s`, {
      cause: error,
    });
  if (cause instanceof errors.PermissionViolationError)
    return new NatsUnreachableError(
      `NATS refused this user permission to ${cause.operation === "publish" ? "publish to" : "subscribe to"} ${cause.subject}`,
      { cause: error },
    );
  if (cause instanceof errors.ClosedConnectionError || cause instanceof errors.ConnectionError)
    return new NatsUnreachableError(`lost the connection to NATS at ${server}`, { cause: error });
  return error instanceof Error ? error : new Error(String(error));
}

function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // nats.js says "CONNECTION_REFUSED" or "Authorization Violation": both read as they are.
  return error.message || error.name;
}
