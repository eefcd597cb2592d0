import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isAlive, recordedChildren, setChildRegistryDir } from "./child-registry.ts";

/** Runs once around the whole suite: fails it if any child process started by a test survived. */
export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "troupe-test-children-"));
  setChildRegistryDir(dir);
  return () => {
    const survivors = recordedChildren(dir).filter(({ pid }) => isAlive(pid));
    for (const { pid } of survivors) process.kill(pid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    if (survivors.length > 0) {
      const list = survivors.map(({ pid, what }) => `${what} (pid ${pid})`).join(", ");
      // An error thrown here is only logged by vitest; the exit code is what fails CI.
      console.error(`\nFAIL: child processes outlived the test suite: ${list}\n`);
      process.exitCode = 1;
    }
  };
}
