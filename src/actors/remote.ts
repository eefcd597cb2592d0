import { Packr } from "msgpackr";
import {
  ActorCrashedError,
  ActorStoppedError,
  AskTimeoutError,
  type ErrorData,
  MailboxFullError,
  NoResponderError,
  SupervisorEscalationError,
  TroupeError,
} from "../errors.ts";
import type { Reply } from "./reply.ts";

/**
 * How actors reach other processes. The actor core knows only this port; the one implementation
 * over NATS (`troupe.actor.<name>`) lives in `src/transport/remote-actors.ts`. Payloads are bytes
 * already encoded by the actor core (msgpack).
 */
export interface RemotePort {
  /**
   * Serves `name` cluster-wide: `handler` gets each request's payload, and `respond` when the
   * sender expects a reply (`ask`). Returns the function that stops serving.
   */
  serve(name: string, handler: RemoteHandler): () => void;
  /**
   * One request, one reply. Must reject with `NoResponderError` at once when nobody serves
   * `name`, and with `AskTimeoutError` after `timeoutMs`.
   */
  request(name: string, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  /** Fire and forget (`tell`); undeliverable messages are lost, as for any dead letter. */
  send(name: string, payload: Uint8Array): void;
}

export type RemoteHandler = (
  payload: Uint8Array,
  respond: ((payload: Uint8Array) => void) | undefined,
) => void;

// Plain msgpack (no records extension): readable by any msgpack client, e.g. the nats CLI + jq.
const packr = new Packr({ useRecords: false });

const OK = 0;
const FAILED = 1;

export function encodeMessage(message: unknown): Uint8Array {
  return packr.pack(message);
}

export function decodeMessage(payload: Uint8Array): unknown {
  return packr.unpack(payload);
}

/** A reply travels as `[0, value]` or `[1, code, message]`: errors cross processes as data. */
export function encodeReply(value: unknown): Uint8Array {
  try {
    return packr.pack([OK, value]);
  } catch (error) {
    return encodeFailure(
      new TroupeError("TROUPE_ERR_REMOTE_ENCODING", `reply cannot be encoded: ${String(error)}`),
    );
  }
}

export function encodeFailure(error: unknown): Uint8Array {
  const data = errorData(error);
  return packr.pack([FAILED, data.code, data.message]);
}

/** Decodes a reply: its value, or throws the typed error it carries. */
export function decodeReply(payload: Uint8Array): unknown {
  const envelope = packr.unpack(payload) as unknown;
  if (!Array.isArray(envelope)) {
    throw new TroupeError("TROUPE_ERR_REMOTE_ENCODING", "malformed actor reply");
  }
  if (envelope[0] === OK) return envelope[1];
  throw errorFromData({ code: String(envelope[1]), message: String(envelope[2]) });
}

export function errorData(error: unknown): ErrorData {
  if (error instanceof TroupeError) return error.toJSON();
  const message = error instanceof Error ? error.message : String(error);
  return { code: "TROUPE_ERR_INTERNAL", message };
}

const errorClasses: Record<string, new (message: string) => TroupeError> = {
  TROUPE_ERR_MAILBOX_FULL: MailboxFullError,
  TROUPE_ERR_ASK_TIMEOUT: AskTimeoutError,
  TROUPE_ERR_ACTOR_STOPPED: ActorStoppedError,
  TROUPE_ERR_ACTOR_CRASHED: ActorCrashedError,
  TROUPE_ERR_NO_RESPONDER: NoResponderError,
  TROUPE_ERR_ESCALATED: SupervisorEscalationError,
};

/** Re-materializes an error that crossed a process boundary into its typed class. */
export function errorFromData(data: ErrorData): TroupeError {
  const ErrorClass = errorClasses[data.code];
  return ErrorClass === undefined
    ? new TroupeError(data.code, data.message)
    : new ErrorClass(data.message);
}

/** The reply handle for a request that came in over the port. */
export class RemoteReply implements Reply {
  #respond: ((payload: Uint8Array) => void) | undefined;

  constructor(respond: (payload: Uint8Array) => void) {
    this.#respond = respond;
  }

  resolve(value: unknown): void {
    this.#send(() => encodeReply(value));
  }

  reject(error: unknown): void {
    this.#send(() => encodeFailure(error));
  }

  #send(encode: () => Uint8Array): void {
    const respond = this.#respond;
    this.#respond = undefined;
    if (respond === undefined) return;
    try {
      respond(encode());
    } catch {
      // The connection is gone: the asker gets its timeout or no-responders error instead.
    }
  }
}
