#!/usr/bin/env node
// `npm start`: runs `troupe start` from the bundle `npm run build` makes (dist/bundle/troupe.js:
// two files to load, about a fifth of the start-up CPU) when it is newer than every file in src/
// and package-lock.json; otherwise from the sources through tsx, which compiles them at each
// start with esbuild helper processes.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const bundle = join(root, "dist/bundle/troupe.js");

/** The newest modification time among the sources and the lock file (the bundle's inputs). */
function newestInputMs() {
  const src = join(root, "src");
  const inputs = readdirSync(src, { recursive: true }).map((name) => join(src, String(name)));
  inputs.push(join(root, "package-lock.json"));
  return Math.max(
    ...inputs.filter((file) => existsSync(file)).map((file) => statSync(file).mtimeMs),
  );
}

if (existsSync(bundle) && statSync(bundle).mtimeMs >= newestInputMs()) {
  process.stderr.write("troupe: starting from dist/bundle/troupe.js\n");
  await import(pathToFileURL(bundle).href);
} else {
  process.stderr.write(
    "troupe: starting from the sources through tsx (`npm run build` first starts it faster)\n",
  );
  const { register } = await import("tsx/esm/api");
  register();
  await import(pathToFileURL(join(root, "src/cli/troupe.ts")).href);
}
