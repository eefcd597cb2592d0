import type { RestartType } from "./child-spec.ts";

/**
 * Which children restart when one fails (OTP): `one_for_one` only it; `one_for_all` all of them;
 * `rest_for_one` it and the children started after it.
 */
export type Strategy = "one_for_one" | "one_for_all" | "rest_for_one";

export const STRATEGIES: readonly Strategy[] = Object.freeze([
  "one_for_one",
  "one_for_all",
  "rest_for_one",
]);

export interface PlannedChild {
  id: string;
  restart: RestartType;
}

/** What the supervisor does about one failure. */
export interface RestartPlan {
  /** Children to stop, in this order: the reverse of start order. */
  stop: string[];
  /** Children to start again, in start order. */
  restart: string[];
  /** Stopped and not restarted: `temporary` children caught in the restart. */
  remove: string[];
}

/**
 * Plans the restart after `failedId` failed, given the live children in start order. Pure.
 * @throws {Error} if `failedId` is not among `children`.
 */
export function planRestart(
  strategy: Strategy,
  children: readonly PlannedChild[],
  failedId: string,
): RestartPlan {
  const index = children.findIndex((child) => child.id === failedId);
  if (index === -1) throw new Error(`unknown child "${failedId}"`);
  let affected: readonly PlannedChild[];
  switch (strategy) {
    case "one_for_one":
      affected = children.slice(index, index + 1);
      break;
    case "one_for_all":
      affected = children;
      break;
    case "rest_for_one":
      affected = children.slice(index);
      break;
  }
  return {
    stop: affected.map((child) => child.id).reverse(),
    restart: affected.filter((child) => child.restart !== "temporary").map((child) => child.id),
    remove: affected.filter((child) => child.restart === "temporary").map((child) => child.id),
  };
}
