import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "..");
const SPECIFIER = /(?:^|\s)(?:import|export)\s[^;]*?from\s+"([^"]+)"|import\(\s*"([^"]+)"\s*\)/gm;

/** Every source file under `src/`, with what it imports (package names, or repo-relative paths). */
function sources(): { file: string; imports: string[] }[] {
  const files = readdirSync(join(root, "src"), { recursive: true, encoding: "utf8" })
    .filter((name) => /\.(ts|mts|mjs|js)$/.test(name))
    .map((name) => join("src", name));
  return files.map((file) => {
    const text = readFileSync(join(root, file), "utf8");
    const imports = [...text.matchAll(SPECIFIER)].map((m) => {
      const spec = (m[1] ?? m[2]) as string;
      return spec.startsWith(".") ? relative(root, resolve(root, dirname(file), spec)) : spec;
    });
    return { file, imports };
  });
}

/** `file imports target` for every import of a file under `from` that `forbidden` matches. */
function breaks(from: string, forbidden: (target: string) => boolean): string[] {
  return sources()
    .filter(({ file }) => file.startsWith(from))
    .flatMap(({ file, imports }) => imports.filter(forbidden).map((t) => `${file} imports ${t}`));
}

describe("layering", () => {
  it("finds the imports it checks (the scan itself works)", () => {
    const transport = sources().find((s) => s.file === join("src", "transport", "connection.ts"));
    expect(transport?.imports.some((t) => t.startsWith("@nats-io/"))).toBe(true);
  });

  it("imports @nats-io/* only in src/transport", () => {
    const outside = sources()
      .filter(({ file }) => !file.startsWith(join("src", "transport")))
      .flatMap(({ file, imports }) =>
        imports.filter((t) => t.startsWith("@nats-io/")).map((t) => `${file} imports ${t}`),
      );
    expect(outside).toEqual([]);
  });

  it("keeps the HTTP door off the transport: it calls the gateway", () => {
    expect(breaks(join("src", "http"), (t) => t.startsWith(join("src", "transport")))).toEqual([]);
  });

  it("keeps the transport below the domain: it imports nothing from src/jobs", () => {
    expect(breaks(join("src", "transport"), (t) => t.startsWith(join("src", "jobs")))).toEqual([]);
  });

  it("keeps the queue from reaching into the worker actors", () => {
    expect(breaks(join("src", "queue"), (t) => t.startsWith(join("src", "workers")))).toEqual([]);
  });
});
