import { headers as createHeaders, type Msg, type MsgHdrs } from "@nats-io/transport-node";
import { type ErrorData, PayloadTooLargeError, TroupeError } from "../errors.ts";
import { decodeBody, type Encoding, encodeBody, encodingOf, MAX_REQUEST_BYTES } from "./codec.ts";
import { EndpointCounters, type EndpointInfo } from "./service-stats.ts";

/** The header carrying an error reply's message (ADR-32). */
export const SERVICE_ERROR_HEADER = "Nats-Service-Error";
/** The header carrying an error reply's numeric code (ADR-32). */
export const SERVICE_ERROR_CODE_HEADER = "Nats-Service-Error-Code";
/** The `code` of the error body answered for anything but a {@link TroupeError}. */
export const INTERNAL_ERROR_CODE = "TROUPE_ERR_INTERNAL";

/** The subset of a pino logger the service uses. */
export interface ServiceLogger {
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

/** One request as an endpoint handler sees it: the body is already decoded, once. */
export interface ServiceRequest {
  readonly subject: string;
  /** The raw body. */
  readonly data: Uint8Array;
  /** The body decoded by its content type; `undefined` when empty. */
  readonly body: unknown;
  /** The request's encoding; the reply uses the same one. */
  readonly encoding: Encoding;
  readonly headers: MsgHdrs | undefined;
  /** False for a plain publish: the handler still runs, and its result is dropped. */
  readonly expectsReply: boolean;
}

/**
 * Handles one request: returns (or resolves to) the reply value, encoded in the request's
 * encoding (`undefined` replies with an empty body), or throws. A thrown {@link TroupeError}
 * becomes an error reply with its data (`code`, `message`, and `errors` for an invalid request)
 * and `serviceCode`; any other error becomes a generic 500 and is logged.
 */
export type ServiceHandler = (request: ServiceRequest) => unknown;

/** A plain publish (no reply subject) that failed: nobody waits for an error reply to it. */
export interface Unanswered {
  readonly subject: string;
  /** The raw body, which may not decode. */
  readonly data: Uint8Array;
  readonly encoding: Encoding;
  /** What an error reply would have carried. */
  readonly error: ErrorData;
  /** When it arrived (epoch ms). */
  readonly receivedAt: number;
}

/** Told of each {@link Unanswered} failure, after it is logged (a throw is logged too). */
export type UnansweredHandler = (failure: Unanswered) => void;

/** True when the message has a reply subject (a request, not a plain publish). */
export function expectsReply(msg: Msg): boolean {
  return msg.reply !== undefined && msg.reply !== "";
}

class Request implements ServiceRequest {
  readonly #msg: Msg;
  readonly body: unknown;
  readonly encoding: Encoding;

  constructor(msg: Msg, body: unknown, encoding: Encoding) {
    this.#msg = msg;
    this.body = body;
    this.encoding = encoding;
  }
  get subject(): string {
    return this.#msg.subject;
  }
  get data(): Uint8Array {
    return this.#msg.data;
  }
  get headers(): MsgHdrs | undefined {
    return this.#msg.headers;
  }
  get expectsReply(): boolean {
    return expectsReply(this.#msg);
  }
}

/**
 * One endpoint's request path: decode by content type, run the handler, encode the reply (or the
 * error reply) in the request's encoding, and count it. Errors reach the wire here and only here.
 */
export class Endpoint {
  readonly info: EndpointInfo;
  readonly counters = new EndpointCounters();
  readonly #handler: ServiceHandler;
  readonly #logger: ServiceLogger;
  readonly #settled: () => void;
  readonly #unanswered: UnansweredHandler | undefined;

  /** `settled` is called once per handled message, when its reply (if any) has been sent. */
  constructor(
    info: EndpointInfo,
    handler: ServiceHandler,
    logger: ServiceLogger,
    settled: () => void,
    unanswered?: UnansweredHandler,
  ) {
    this.info = info;
    this.#handler = handler;
    this.#logger = logger;
    this.#settled = settled;
    this.#unanswered = unanswered;
  }

  /** Handles one message; never throws. */
  handle(msg: Msg): void {
    const startedAt = performance.now();
    let encoding: Encoding = "json";
    let result: unknown;
    try {
      encoding = encodingOf(msg.headers);
      // The server may allow larger messages (max_payload); a request body never needs to be.
      if (msg.data.length > MAX_REQUEST_BYTES) {
        throw new PayloadTooLargeError(msg.data.length, MAX_REQUEST_BYTES);
      }
      result = this.#handler(new Request(msg, decodeBody(msg.data, encoding), encoding));
    } catch (error) {
      this.#fail(msg, encoding, startedAt, error);
      return;
    }
    // Synchronous handlers reply without a promise tick.
    if (isPromiseLike(result)) {
      result.then(
        (value) => this.#succeed(msg, encoding, startedAt, value),
        (error: unknown) => this.#fail(msg, encoding, startedAt, error),
      );
    } else {
      this.#succeed(msg, encoding, startedAt, result);
    }
  }

  #succeed(msg: Msg, encoding: Encoding, startedAt: number, value: unknown): void {
    if (expectsReply(msg)) {
      try {
        msg.respond(encodeBody(value, encoding));
      } catch (error) {
        // Unencodable or oversized replies are bugs: the requester still gets an answer.
        this.#fail(msg, encoding, startedAt, error);
        return;
      }
    }
    this.counters.record(performance.now() - startedAt);
    this.#settled();
  }

  #fail(msg: Msg, encoding: Encoding, startedAt: number, error: unknown): void {
    const known = error instanceof TroupeError ? error : undefined;
    // An unexpected error's message may hold anything (paths, credentials): it goes to the log.
    const body = known?.toJSON() ?? { code: INTERNAL_ERROR_CODE, message: "internal error" };
    const message = body.message;
    const serviceCode = known?.serviceCode ?? 500;
    const replying = expectsReply(msg);
    if (known === undefined || serviceCode >= 500) {
      this.#log("error", error, msg, "service handler failed");
    } else if (!replying) {
      this.#log("warn", error, msg, "service request rejected (no reply subject)");
    }
    if (!replying && this.#unanswered) {
      // A plain publish has no reply to carry the error: the endpoint tells its sender otherwise.
      try {
        const { subject, data } = msg;
        const receivedAt = Date.now() - (performance.now() - startedAt);
        this.#unanswered({ subject, data, encoding, error: body, receivedAt });
      } catch (reportError) {
        this.#log("error", reportError, msg, "report of a rejected publish failed");
      }
    }
    if (replying) {
      try {
        const hdrs = createHeaders();
        hdrs.set(SERVICE_ERROR_HEADER, message.replace(/[\r\n]+/g, " "));
        hdrs.set(SERVICE_ERROR_CODE_HEADER, String(serviceCode));
        msg.respond(encodeBody({ error: body }, encoding), { headers: hdrs });
      } catch (replyError) {
        this.#log("error", replyError, msg, "service error reply failed");
      }
    }
    this.counters.recordError(performance.now() - startedAt, serviceCode, message);
    this.#settled();
  }

  #log(level: "warn" | "error", err: unknown, msg: Msg, message: string): void {
    this.#logger[level]({ err, endpoint: this.info.name, subject: msg.subject }, message);
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof (value as { then?: unknown }).then === "function"
  );
}
