import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The directory of Troupe's package.json (and nats.conf): the checkout when running from the
 * sources or `dist/`, the build's directory when running the bundle — whose modules all share the
 * bundle file's `import.meta.url`, so a fixed relative path would not do.
 */
export const PACKAGE_ROOT = packageRootAbove(dirname(fileURLToPath(import.meta.url)));

/** The `version` of Troupe's package.json. */
export function packageVersion(): string {
  return String(JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")).version);
}

function packageRootAbove(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json in ${start} or above it`);
  }
}
