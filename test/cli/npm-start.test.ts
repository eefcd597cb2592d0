import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { spawnTroupe } from "../support/troupe-process.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

// A checkout in miniature: the real scripts/start.js, package.json and node_modules (tsx), and a
// stand-in CLI on each side that says where it runs from.
const root = mkdtempSync(join(tmpdir(), "troupe-npm-start-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(join(root, "scripts"));
copyFileSync(join(ROOT, "scripts/start.js"), join(root, "scripts/start.js"));
copyFileSync(join(ROOT, "package.json"), join(root, "package.json"));
symlinkSync(join(ROOT, "node_modules"), join(root, "node_modules"), "dir");
const sources = join(root, "src/cli/troupe.ts");
const bundle = join(root, "dist/bundle/troupe.js");
mkdirSync(join(root, "src/cli"), { recursive: true });
mkdirSync(join(root, "dist/bundle"), { recursive: true });
const say = (from: string) =>
  `const from: string = "${from}";\nconsole.log(JSON.stringify({ level: 30, msg: from, args: process.argv.slice(2) }));\n`;
writeFileSync(sources, say("sources"));

async function npmStart(): Promise<{ ranFrom: string; stderr: string }> {
  const troupe = spawnTroupe({ entry: join(root, "scripts/start.js") });
  expect(await troupe.exited).toEqual({ code: 0, signal: null });
  const [line] = troupe.logs;
  expect(line?.args).toEqual(["start"]);
  return { ranFrom: String(line?.msg), stderr: troupe.stderr };
}

describe("npm start (scripts/start.js)", () => {
  it("runs the sources through tsx until `npm run build` has made a bundle, and says so", async () => {
    const { ranFrom, stderr } = await npmStart();
    expect(ranFrom).toBe("sources");
    expect(stderr).toContain("npm run build");
  });

  it("runs the bundle when it is newer than every source, and the sources again once one changes", async () => {
    const past = new Date(Date.now() - 60_000);
    utimesSync(sources, past, past);
    writeFileSync(bundle, say("bundle").replace(": string", ""));
    expect((await npmStart()).ranFrom).toBe("bundle");

    writeFileSync(sources, say("sources"));
    const later = new Date(Date.now() + 60_000);
    utimesSync(sources, later, later);
    expect((await npmStart()).ranFrom).toBe("sources");
  });
});
