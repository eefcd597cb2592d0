/**
 * A bare piscina pool running bench/lib/piscina-task.mjs: the same training code as Troupe's pool
 * threads, with no progress port, no checkpoints and no abort flags — the raw limit the benches
 * set Troupe beside.
 */
import { fileURLToPath } from "node:url";
import { Piscina } from "piscina";

const TASK_FILE = fileURLToPath(new URL("./piscina-task.mjs", import.meta.url));

export function barePool(threads: number): Piscina {
  return new Piscina({ filename: TASK_FILE, minThreads: threads, maxThreads: threads });
}
