import type { MsgHdrs } from "@nats-io/transport-node";
import { Packr } from "msgpackr";
import { InvalidRequestError, TroupeError } from "../errors.ts";

/**
 * How a request body is encoded, and so how its reply is (DESIGN §2.3): JSON for outside clients
 * (`nats req`), msgpack for requests that say `Content-Type: application/msgpack`.
 */
export type Encoding = "json" | "msgpack";

/** The largest request body any door accepts (NATS API and HTTP): 1 MiB. */
export const MAX_REQUEST_BYTES = 1024 * 1024;

/** The `Content-Type` that selects msgpack. */
export const MSGPACK_CONTENT_TYPE = "application/msgpack";

// Records (msgpackr's extension 0x72) would make our bytes unreadable to other msgpack libraries.
const packr = new Packr({ useRecords: false });
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });
const EMPTY = new Uint8Array(0);

/**
 * The encoding a message's headers ask for. No headers or no `Content-Type` means JSON, as does
 * any `…/json` type; the msgpack types mean msgpack.
 *
 * @throws {TroupeError} `TROUPE_ERR_UNSUPPORTED_MEDIA_TYPE` (415) for any other `Content-Type`.
 */
export function encodingOf(headers: MsgHdrs | undefined): Encoding {
  if (headers === undefined) return "json";
  // Clients disagree on header case (`Content-Type`, `content-type`): NATS headers keep it as sent.
  let type = headers.get("Content-Type");
  if (type === "") {
    for (const [key, values] of headers) {
      if (key.toLowerCase() === "content-type") {
        type = values[0] ?? "";
        break;
      }
    }
  }
  if (type === "") return "json";
  const semicolon = type.indexOf(";");
  const media = (semicolon === -1 ? type : type.slice(0, semicolon)).trim().toLowerCase();
  if (media === MSGPACK_CONTENT_TYPE || media === "application/x-msgpack") return "msgpack";
  if (media === "application/json" || media.endsWith("+json")) return "json";
  throw new TroupeError(
    "TROUPE_ERR_UNSUPPORTED_MEDIA_TYPE",
    `unsupported Content-Type "${type}": use application/json or ${MSGPACK_CONTENT_TYPE}`,
    { statusCode: 415 },
  );
}

/**
 * Decodes a body. An empty body is `undefined` (what `nats req subject ''` sends), so endpoints
 * that take no arguments accept it.
 *
 * @throws {InvalidRequestError} (400) naming the problem when the bytes are not valid in that
 *   encoding.
 */
export function decodeBody(data: Uint8Array, encoding: Encoding): unknown {
  if (data.length === 0) return undefined;
  try {
    return encoding === "json" ? JSON.parse(textDecoder.decode(data)) : packr.unpack(data);
  } catch (error) {
    const what = encoding === "json" ? "JSON" : "msgpack";
    const reason = error instanceof Error ? error.message : String(error);
    throw new InvalidRequestError("request body", [
      { path: "", message: `not valid ${what}: ${reason}` },
    ]);
  }
}

/**
 * Encodes a value; `undefined` becomes an empty body.
 *
 * @throws {TypeError} for values the encoding cannot hold (a `bigint` or a cycle in JSON).
 */
export function encodeBody(value: unknown, encoding: Encoding): Uint8Array {
  if (value === undefined) return EMPTY;
  return encoding === "json" ? encodeJson(value) : packr.pack(value);
}

/** Encodes a value as JSON bytes (the `$SRV` replies are JSON whatever the request asked). */
export function encodeJson(value: unknown): Uint8Array {
  const text = JSON.stringify(value);
  // JSON.stringify answers undefined for a function or a symbol: an empty body would hide the bug.
  if (text === undefined) throw new TypeError(`cannot encode a ${typeof value} as JSON`);
  return textEncoder.encode(text);
}
