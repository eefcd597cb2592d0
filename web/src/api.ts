import { currentToken, tokenRefused } from "./token.ts";

/** A refusal of the API: its status and the problem's code and detail. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

/** The headers of every call: JSON, and the token (if any) as a bearer token. */
function headers(extra: Record<string, string> = {}): Record<string, string> {
  const token = currentToken();
  return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
}

/**
 * Calls the HTTP API and resolves with its JSON reply. A 401 asks the person for the token
 * (tokenRefused) and rejects; any other error rejects with the problem's detail.
 */
export async function api<T>(
  path: string,
  init: { method?: string; signal?: AbortSignal } = {},
): Promise<T> {
  const response = await fetch(path, {
    method: init.method ?? "GET",
    headers: headers({ accept: "application/json" }),
    signal: init.signal ?? null,
    cache: "no-store",
    credentials: "omit",
  });
  if (response.ok) return (await response.json()) as T;
  throw await failure(response);
}

export async function failure(response: Response): Promise<ApiError> {
  if (response.status === 401) tokenRefused();
  const problem = (await response.json().catch(() => ({}))) as { code?: string; detail?: string };
  return new ApiError(
    response.status,
    problem.code ?? `HTTP_${response.status}`,
    problem.detail ?? response.statusText,
  );
}

/** One Server-Sent Events frame. */
export interface SseFrame {
  event: string;
  data: string;
}

/**
 * Reads an event stream of the API frame by frame until it ends or `signal` aborts. With fetch,
 * not EventSource: EventSource cannot send the Authorization header, and putting the token in
 * its URL instead would write it into server and proxy logs and the browser's history.
 */
export async function* readEvents(path: string, signal: AbortSignal): AsyncGenerator<SseFrame> {
  const response = await fetch(path, {
    headers: headers({ accept: "text/event-stream" }),
    signal,
    cache: "no-store",
    credentials: "omit",
  });
  if (!response.ok || !response.body) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const frame = parseFrame(block);
        if (frame) yield frame;
      }
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

function parseFrame(block: string): SseFrame | undefined {
  let event = "message";
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue; // a keep-alive comment
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  return data.length > 0 ? { event, data: data.join("\n") } : undefined;
}
