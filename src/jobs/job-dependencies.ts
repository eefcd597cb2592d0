/**
 * Job dependencies (DESIGN §5.2) as pure decisions: whether a job's dependencies hold, can no
 * longer hold, or are still open; and whether adding dependencies would close a cycle. The job
 * actor applies them (job-waiting.ts); the gateway refuses cycles with them.
 */
import type { JobState } from "./job-state.ts";
import { isTerminalJobState } from "./job-state.ts";

export const DEPENDENCY_TYPES = ["all_complete", "any_complete", "all_finished"] as const;
export type DependencyType = (typeof DEPENDENCY_TYPES)[number];

export type DependencyVerdict =
  | { kind: "ready" }
  | { kind: "waiting"; open: string[] }
  /** The condition can never hold: the job ends CANCELLED with this error. */
  | { kind: "impossible"; error: string };

/**
 * The verdict on a job's dependencies given what is known of each one's state (`undefined`: the
 * job no longer exists, e.g. removed by retention — it can neither complete nor be waited for).
 * - `all_complete`: every one COMPLETED; impossible as soon as one ended otherwise.
 * - `any_complete`: one COMPLETED; impossible once all ended and none completed.
 * - `all_finished`: every one ended, however.
 */
export function dependencyVerdict(
  type: DependencyType,
  states: ReadonlyMap<string, JobState | undefined>,
): DependencyVerdict {
  const ids = [...states.keys()];
  const ended = (id: string) => {
    const state = states.get(id);
    return state === undefined || isTerminalJobState(state);
  };
  const open = ids.filter((id) => !ended(id));
  const describe = (id: string) => {
    const state = states.get(id);
    return state === undefined ? `${id} no longer exists` : `${id} ended ${state}`;
  };
  switch (type) {
    case "all_complete": {
      const broken = ids.find((id) => ended(id) && states.get(id) !== "COMPLETED");
      if (broken !== undefined) {
        return { kind: "impossible", error: `dependency ${describe(broken)}` };
      }
      return open.length === 0 ? { kind: "ready" } : { kind: "waiting", open };
    }
    case "any_complete": {
      if (ids.length === 0 || ids.some((id) => states.get(id) === "COMPLETED")) {
        return { kind: "ready" };
      }
      if (open.length === 0) {
        return {
          kind: "impossible",
          error: `no dependency completed: ${ids.map(describe).join(", ")}`,
        };
      }
      return { kind: "waiting", open };
    }
    case "all_finished":
      return open.length === 0 ? { kind: "ready" } : { kind: "waiting", open };
  }
}

/** Jobs visited at most by one cycle search (a guard against a pathological graph). */
const MAX_VISITED = 10_000;

/**
 * The cycle that giving `jobId` the dependencies `adding` would close, as a path from `jobId`
 * back to itself (`[a, b, a]`), or undefined. `dependenciesOf` reads a job's current
 * dependencies (undefined for an unknown job).
 */
export async function dependencyCycle(
  jobId: string,
  adding: readonly string[],
  dependenciesOf: (id: string) => Promise<readonly string[] | undefined>,
): Promise<string[] | undefined> {
  const seen = new Set<string>();
  // Depth first, each frame the path that reached it.
  const stack: string[][] = adding.map((id) => [jobId, id]);
  while (stack.length > 0) {
    const path = stack.pop() as string[];
    const at = path[path.length - 1] as string;
    if (at === jobId) return path;
    if (seen.has(at) || seen.size >= MAX_VISITED) continue;
    seen.add(at);
    for (const next of (await dependenciesOf(at)) ?? []) stack.push([...path, next]);
  }
  return undefined;
}
