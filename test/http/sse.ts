/** One Server-Sent Events frame: an event with data, or a comment line. */
export type SseFrame = { event: string; data: unknown } | { comment: string };

/**
 * Reads a `text/event-stream` response frame by frame until the server ends it (or the caller
 * stops reading). Data lines are parsed as JSON.
 */
export async function* readSse(res: Response): AsyncGenerator<SseFrame> {
  if (!res.body) return;
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (block.startsWith(":")) {
        yield { comment: block.slice(1).trim() };
        continue;
      }
      const lines = new Map(
        block
          .split("\n")
          .map((line) => [
            line.slice(0, line.indexOf(":")),
            line.slice(line.indexOf(":") + 1).trim(),
          ]),
      );
      yield {
        event: lines.get("event") ?? "message",
        data: JSON.parse(lines.get("data") ?? "null"),
      };
    }
  }
}
