import { readFile } from "node:fs/promises";
import { parseDocument } from "yaml";
import { badInput } from "./exit.ts";

/** The largest spec file read: the API refuses bodies past 1 MiB anyway. */
const MAX_SPEC_BYTES = 1024 * 1024;

/**
 * Reads one job spec from a file, or from standard input for `-`: JSON or YAML (YAML 1.2 reads
 * JSON too), parsed as plain data the way the HTTP door parses a YAML body (core schema, unique
 * keys, bounded aliases). The spec itself is checked by the server, by the one schema.
 * @throws TroupeError (exit 2) naming the file and what is wrong with it, on one line.
 */
export async function readSpecFile(
  path: string,
  stdin: NodeJS.ReadableStream = process.stdin,
): Promise<Record<string, unknown>> {
  const name = path === "-" ? "standard input" : path;
  const text = path === "-" ? await readAll(stdin) : await readText(path);
  if (Buffer.byteLength(text) > MAX_SPEC_BYTES) {
    throw badInput(`${name} is larger than 1 MiB: expected one job spec`);
  }
  if (text.trim() === "") throw badInput(`${name} is empty: expected one job spec (JSON or YAML)`);
  const doc = parseDocument(text, {
    schema: "core",
    uniqueKeys: true,
    prettyErrors: true,
    logLevel: "error",
  });
  const first = doc.errors[0];
  if (first) {
    const at = first.linePos?.[0];
    const reason = (first.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
    throw badInput(
      `${name} is not valid JSON or YAML: ${at ? `line ${at.line}, column ${at.col}: ` : ""}${reason}`,
    );
  }
  let spec: unknown;
  try {
    spec = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw badInput(`${name} is not valid JSON or YAML: ${(error as Error).message}`);
  }
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
    const found = Array.isArray(spec) ? "a list" : `a ${spec === null ? "null" : typeof spec}`;
    throw badInput(`${name} holds ${found}: expected one job spec, a mapping of its fields`);
  }
  return spec as Record<string, unknown>;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EISDIR"
          ? "it is a directory"
          : code === "EACCES"
            ? "permission denied"
            : (error as Error).message;
    throw badInput(`cannot read ${path}: ${why}`);
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    bytes += buffer.length;
    // Stop reading a runaway pipe; the size check above reports it.
    if (bytes > MAX_SPEC_BYTES + 1) break;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}
