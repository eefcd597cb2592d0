import { connect, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { afterAll } from "vitest";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A reply as a client sees it: the decoded body, and the micro-service error headers if any. */
export interface ApiReply<T = Record<string, unknown>> {
  body: T;
  serviceError: string | undefined;
  serviceErrorCode: string | undefined;
}

/**
 * A plain NATS client with no Troupe code in it, as `nats req` is: it sends raw JSON bytes and
 * reads raw bytes back. Closed after the test file.
 */
export interface ApiClient {
  readonly nc: NatsConnection;
  /** Sends `body` (an object is JSON-encoded; a string or bytes go as they are). */
  request<T = Record<string, unknown>>(
    subject: string,
    body: unknown,
    timeoutMs?: number,
  ): Promise<ApiReply<T>>;
}

const open = new Set<NatsConnection>();
afterAll(async () => {
  await Promise.all([...open].map((nc) => nc.close()));
});

/**
 * `url` may list several servers, comma-separated; `auth` is a user and password, if any (and the
 * inbox prefix its permissions allow, `_INBOX_troupe` for the runtime user).
 */
export async function apiClient(
  url: string,
  auth?: { user: string; pass: string; inboxPrefix?: string },
): Promise<ApiClient> {
  const nc = await connect({
    servers: url.split(","),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
    ...auth,
  });
  open.add(nc);
  return {
    nc,
    async request<T>(subject: string, body: unknown, timeoutMs = 10_000): Promise<ApiReply<T>> {
      const data =
        typeof body === "string"
          ? encoder.encode(body)
          : body instanceof Uint8Array
            ? body
            : encoder.encode(JSON.stringify(body));
      const reply: Msg = await nc.request(subject, data, { timeout: timeoutMs });
      return {
        body: JSON.parse(decoder.decode(reply.data)) as T,
        serviceError: reply.headers?.get("Nats-Service-Error") || undefined,
        serviceErrorCode: reply.headers?.get("Nats-Service-Error-Code") || undefined,
      };
    },
  };
}
