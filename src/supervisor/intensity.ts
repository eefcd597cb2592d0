/** Restart intensity (OTP): more than `maxRestarts` restarts within `periodMs` means give up. */
export interface IntensityPolicy {
  maxRestarts: number;
  periodMs: number;
}

/** Times (ms) of the restarts still inside the window, oldest first. */
export type RestartHistory = readonly number[];

export interface IntensityVerdict {
  /** True: stop the children and escalate to the parent instead of restarting. */
  escalate: boolean;
  history: RestartHistory;
}

/**
 * Records one more restart at `now` and decides. Pure: the caller keeps the returned history.
 * Restarts older than `periodMs` fall out of the window.
 */
export function registerRestart(
  history: RestartHistory,
  now: number,
  policy: IntensityPolicy,
): IntensityVerdict {
  const recent = history.filter((at) => now - at < policy.periodMs);
  recent.push(now);
  return { escalate: recent.length > policy.maxRestarts, history: recent };
}
