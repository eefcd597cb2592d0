import { type NatsConnection, nuid, type Subscription } from "@nats-io/transport-node";
import { ConfigError, TroupeError } from "../errors.ts";
import { encodeJson } from "./codec.ts";
import {
  Endpoint,
  expectsReply,
  type ServiceHandler,
  type ServiceLogger,
  type UnansweredHandler,
} from "./service-endpoint.ts";
import {
  type EndpointInfo,
  type InfoResponse,
  type Metadata,
  type PingResponse,
  SEMVER_PATTERN,
  SERVICE_NAME_PATTERN,
  type StatsResponse,
} from "./service-stats.ts";

export type { Encoding } from "./codec.ts";
export {
  INTERNAL_ERROR_CODE,
  SERVICE_ERROR_CODE_HEADER,
  SERVICE_ERROR_HEADER,
  type ServiceHandler,
  type ServiceLogger,
  type ServiceRequest,
  type Unanswered,
  type UnansweredHandler,
} from "./service-endpoint.ts";
export type {
  EndpointInfo,
  EndpointStats,
  InfoResponse,
  Metadata,
  PingResponse,
  StatsResponse,
} from "./service-stats.ts";

/** How a service is named and run. */
export interface ServiceOptions {
  /** The kind of service, shared by every instance (`troupe`); `[A-Za-z0-9_-]+`. */
  name: string;
  /** A SemVer version. */
  version: string;
  /** @default "" */
  description?: string;
  /** Immutable free-form metadata, reported by PING, INFO and STATS. @default {} */
  metadata?: Record<string, string>;
  /**
   * Queue group for the endpoints; `false` makes them plain subscriptions (every instance gets
   * every request).
   * @default "q" — the ADR-32 default, so instances share the load and each request is handled once.
   */
  queueGroup?: string | false;
  /**
   * How long `stop()` waits for handlers still running after the subscriptions drained.
   * @default 10_000 — longer than any gateway call (a few KV round trips), short enough that a
   *   process manager is not kept waiting.
   */
  stopTimeoutMs?: number;
  /**
   * Where unexpected handler errors (and errors nobody can be told about) are reported.
   * @default console
   */
  logger?: ServiceLogger;
}

/** One endpoint of a service. */
export interface EndpointOptions {
  /** The subject it serves, e.g. `troupe.jobs.submit`. */
  subject: string;
  handler: ServiceHandler;
  /** Immutable metadata reported by INFO. @default {} */
  metadata?: Record<string, string>;
  /** Overrides the service's queue group. */
  queueGroup?: string | false;
  /** Told of a plain publish (no reply subject) that failed, whose sender no reply can reach. */
  onUnanswered?: UnansweredHandler;
}

/** A running NATS micro service (ADR-32 `io.nats.micro.v1`). */
export interface Service extends AsyncDisposable {
  readonly name: string;
  /** This instance's unique id. */
  readonly id: string;
  readonly version: string;
  /**
   * Serves a subject. `name` must match `[A-Za-z0-9_-]+` (so `jobs-submit`, not `jobs.submit`).
   * Resolves once the server has the subscription.
   * @throws {ConfigError} naming the bad option; {@link TroupeError} once stopped.
   */
  addEndpoint(name: string, options: EndpointOptions): Promise<void>;
  /** What `$SRV.PING` answers. */
  ping(): PingResponse;
  /** What `$SRV.INFO` answers. */
  info(): InfoResponse;
  /** What `$SRV.STATS` answers. */
  stats(): StatsResponse;
  /** Zeroes every endpoint's counters. */
  reset(): void;
  /**
   * Stops intake (drains every subscription), waits up to `stopTimeoutMs` for running handlers,
   * then settles `closed()` with `error`. Idempotent and memoized; never rejects.
   */
  stop(error?: Error): Promise<void>;
  /** Resolves (never rejects) once stopped, with the error that stopped it, if any. */
  closed(): Promise<Error | undefined>;
}

const DEFAULTS = Object.freeze({ queueGroup: "q", stopTimeoutMs: 10_000 });
const VERBS = ["PING", "INFO", "STATS"] as const;
type Verb = (typeof VERBS)[number];

/**
 * Starts a micro service on `nc`: it answers `$SRV.{PING,INFO,STATS}`, `….<name>` and
 * `….<name>.<id>` once this resolves. Add endpoints with {@link Service.addEndpoint}.
 * @throws {ConfigError} naming the bad option.
 */
export async function startService(nc: NatsConnection, options: ServiceOptions): Promise<Service> {
  const service = new ServiceImpl(nc, options);
  try {
    await nc.flush();
  } catch (error) {
    await service.stop();
    throw error;
  }
  return service;
}

class ServiceImpl implements Service {
  readonly name: string;
  readonly id = nuid.next();
  readonly version: string;
  readonly #nc: NatsConnection;
  readonly #description: string;
  readonly #metadata: Metadata;
  readonly #queueGroup: string | false;
  readonly #stopTimeoutMs: number;
  readonly #logger: ServiceLogger;
  readonly #started = new Date().toISOString();
  readonly #endpoints: Endpoint[] = [];
  /** Discovery subscriptions first, then one per endpoint. */
  readonly #subs: Subscription[] = [];
  readonly #pingBytes: Uint8Array;
  #infoBytes: Uint8Array | undefined;
  #inflight = 0;
  #onIdle: (() => void) | undefined;
  #stopping: Promise<void> | undefined;
  readonly #closed: Promise<Error | undefined>;
  #settle!: (error: Error | undefined) => void;

  constructor(nc: NatsConnection, options: ServiceOptions) {
    this.name = checkName("name", options.name);
    if (typeof options.version !== "string" || !SEMVER_PATTERN.test(options.version)) {
      throw new ConfigError("version", `service version must be SemVer, got "${options.version}"`);
    }
    this.version = options.version;
    this.#nc = nc;
    this.#description = options.description ?? "";
    this.#metadata = checkMetadata("metadata", options.metadata);
    this.#queueGroup = checkQueueGroup("queueGroup", options.queueGroup ?? DEFAULTS.queueGroup);
    this.#stopTimeoutMs = options.stopTimeoutMs ?? DEFAULTS.stopTimeoutMs;
    if (!Number.isFinite(this.#stopTimeoutMs) || this.#stopTimeoutMs < 0) {
      throw new ConfigError("stopTimeoutMs", "stopTimeoutMs must be a finite number ≥ 0");
    }
    this.#logger = options.logger ?? console;
    this.#closed = new Promise((resolve) => {
      this.#settle = resolve;
    });
    this.#pingBytes = encodeJson(this.ping());
    try {
      for (const verb of VERBS) {
        for (const suffix of ["", `.${this.name}`, `.${this.name}.${this.id}`]) {
          this.#subs.push(this.#subscribeDiscovery(verb, `$SRV.${verb}${suffix}`));
        }
      }
    } catch (error) {
      // A closed connection fails mid-way: release what was taken.
      for (const sub of this.#subs) {
        try {
          sub.unsubscribe();
        } catch {
          // The connection is gone, and the subscription with it.
        }
      }
      throw error;
    }
    // A closed connection ends the service: nothing it holds can answer any more.
    void nc.closed().then((error) => this.stop(error instanceof Error ? error : undefined));
  }

  addEndpoint(name: string, options: EndpointOptions): Promise<void> {
    if (this.#stopping !== undefined) {
      throw new TroupeError("TROUPE_ERR_SERVICE_STOPPED", `service ${this.name} is stopped`);
    }
    checkName("endpoint name", name);
    const subject = options.subject;
    if (typeof subject !== "string" || !/^[^\s.]+(\.[^\s.]+)*$/.test(subject)) {
      throw new ConfigError("subject", `endpoint ${name}: invalid subject "${subject}"`);
    }
    if (typeof options.handler !== "function") {
      throw new ConfigError("handler", `endpoint ${name}: handler must be a function`);
    }
    const queue = checkQueueGroup("queueGroup", options.queueGroup ?? this.#queueGroup);
    const info: EndpointInfo = {
      name,
      subject,
      metadata: checkMetadata("metadata", options.metadata),
    };
    if (queue !== false) info.queue_group = queue;
    const endpoint = new Endpoint(
      info,
      options.handler,
      this.#logger,
      this.#settled,
      options.onUnanswered,
    );
    const sub = this.#nc.subscribe(subject, {
      ...(queue === false ? {} : { queue }),
      callback: (error, msg) => {
        if (error !== null) return; // the subscription closes with it: #watch stops the service
        this.#inflight++;
        endpoint.handle(msg);
      },
    });
    this.#watch(sub);
    this.#subs.push(sub);
    this.#endpoints.push(endpoint);
    this.#infoBytes = undefined;
    return this.#nc.flush();
  }

  ping(): PingResponse {
    const { name, id, version } = this;
    return { type: "io.nats.micro.v1.ping_response", name, id, version, metadata: this.#metadata };
  }

  info(): InfoResponse {
    const { name, id, version } = this;
    return {
      type: "io.nats.micro.v1.info_response",
      name,
      id,
      version,
      metadata: this.#metadata,
      description: this.#description,
      endpoints: this.#endpoints.map((endpoint) => endpoint.info),
    };
  }

  stats(): StatsResponse {
    const { name, id, version } = this;
    return {
      type: "io.nats.micro.v1.stats_response",
      name,
      id,
      version,
      metadata: this.#metadata,
      started: this.#started,
      endpoints: this.#endpoints.map((endpoint) => endpoint.counters.toStats(endpoint.info)),
    };
  }

  reset(): void {
    for (const endpoint of this.#endpoints) endpoint.counters.reset();
  }

  stop(error?: Error): Promise<void> {
    this.#stopping ??= this.#shutdown(error);
    return this.#stopping;
  }

  closed(): Promise<Error | undefined> {
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  async #shutdown(error: Error | undefined): Promise<void> {
    // Stop intake: drain delivers what the client already holds, then unsubscribes.
    if (!this.#nc.isClosed()) {
      const drained = await Promise.allSettled(this.#subs.map((sub) => sub.drain()));
      for (const result of drained) {
        if (result.status === "rejected") {
          this.#logger.warn({ err: result.reason, service: this.name }, "service drain failed");
        }
      }
    }
    if (this.#inflight > 0) await this.#idleWithin(this.#stopTimeoutMs);
    this.#settle(error);
  }

  #idleWithin(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#onIdle = undefined;
        this.#logger.warn(
          { service: this.name, running: this.#inflight, timeoutMs },
          "service stopped with handlers still running",
        );
        resolve();
      }, timeoutMs);
      this.#onIdle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** An endpoint subscription that ends with an error (a permission violation) stops us. */
  #watch(sub: Subscription): void {
    void sub.closed.then((error) => {
      if (error instanceof Error) void this.stop(error);
    });
  }

  #subscribeDiscovery(verb: Verb, subject: string): Subscription {
    const sub = this.#nc.subscribe(subject, {
      callback: (error, msg) => {
        if (error !== null || !expectsReply(msg)) return;
        try {
          msg.respond(this.#discoveryReply(verb));
        } catch (replyError) {
          this.#logger.warn({ err: replyError, subject }, "service discovery reply failed");
        }
      },
    });
    this.#watch(sub);
    return sub;
  }

  #discoveryReply(verb: Verb): Uint8Array {
    if (verb === "PING") return this.#pingBytes;
    if (verb === "INFO") {
      this.#infoBytes ??= encodeJson(this.info());
      return this.#infoBytes;
    }
    return encodeJson(this.stats());
  }

  /** Called by an endpoint once per handled message. */
  readonly #settled = (): void => {
    this.#inflight--;
    if (this.#inflight === 0 && this.#onIdle !== undefined) this.#onIdle();
  };
}

function checkName(option: string, name: string): string {
  if (typeof name !== "string" || !SERVICE_NAME_PATTERN.test(name)) {
    throw new ConfigError(option, `${option} must match [A-Za-z0-9_-]+, got "${name}"`);
  }
  return name;
}

function checkQueueGroup(option: string, queue: string | false): string | false {
  if (queue !== false && (typeof queue !== "string" || !/^[^\s*>]+$/.test(queue))) {
    throw new ConfigError(option, `${option} must be false or a queue name, got "${queue}"`);
  }
  return queue;
}

function checkMetadata(option: string, metadata: Record<string, string> | undefined): Metadata {
  const copy: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata ?? {})) {
    if (typeof value !== "string") {
      throw new ConfigError(option, `${option}.${key} must be a string`);
    }
    copy[key] = value;
  }
  return Object.freeze(copy);
}
