import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Every child process the test suite starts (nats-server, troupe) is recorded here, so the
 * global teardown can prove that none outlived the suite, even after a crashed test worker.
 */
const ENV_KEY = "TROUPE_TEST_CHILD_DIR";

export function childRegistryDir(): string | undefined {
  return process.env[ENV_KEY];
}

export function setChildRegistryDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  process.env[ENV_KEY] = dir;
}

export function recordChild(pid: number, what: string): void {
  const dir = childRegistryDir();
  if (dir) writeFileSync(join(dir, `${pid}`), what);
}

export function recordedChildren(dir: string): { pid: number; what: string }[] {
  return readdirSync(dir).map((name) => ({
    pid: Number(name),
    what: readFileSync(join(dir, name), "utf8"),
  }));
}

/** True while the process runs; a zombie (exited, not yet reaped) counts as dead. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (name) S ..."; the state letter follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true;
  }
}
