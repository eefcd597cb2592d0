import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleTroupe } from "../../scripts/bundle.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** A built copy of Troupe, as deployed: `entry` is its CLI, run with plain `node`. */
export interface TroupeBuild {
  readonly entry: string;
  dispose(): void;
}

/**
 * Bundles Troupe as `npm run build` does (scripts/bundle.ts) into a temporary directory, beside
 * this checkout's package.json and a link to its node_modules (for the packages left outside the
 * bundle). A process started from it needs about a fifth of the CPU of one run from the sources
 * through tsx, which matters when a harness restarts processes every few seconds on two cores.
 */
export async function buildTroupe(): Promise<TroupeBuild> {
  const dir = mkdtempSync(join(tmpdir(), "troupe-build-"));
  const dispose = () => rmSync(dir, { recursive: true, force: true });
  try {
    await bundleTroupe(join(dir, "dist"));
  } catch (error) {
    dispose();
    throw error;
  }
  copyFileSync(join(ROOT, "package.json"), join(dir, "package.json"));
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  return { entry: join(dir, "dist/troupe.js"), dispose };
}
