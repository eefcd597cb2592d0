import { PRIORITIES, type Priority } from "../contract/priorities.ts";

/**
 * The order in which a free slot tries the priority lanes: urgent, high, normal, low — except that
 * a lane waiting for service gains one rank every `agingMs`, so low work still starts while urgent
 * work keeps arriving (no starvation). A lane "waits" from the last time it was served or found
 * empty. Pure: the dispatcher keeps `lastServedMs` and passes the clock's `nowMs`.
 */
export function laneOrder(
  lastServedMs: Readonly<Record<Priority, number>>,
  nowMs: number,
  agingMs: number,
): Priority[] {
  const rank = (lane: Priority) =>
    PRIORITIES.indexOf(lane) - Math.floor((nowMs - lastServedMs[lane]) / agingMs);
  return [...PRIORITIES].sort(
    (a, b) => rank(a) - rank(b) || PRIORITIES.indexOf(a) - PRIORITIES.indexOf(b),
  );
}

export function freshLanes(nowMs: number): Record<Priority, number> {
  return { urgent: nowMs, high: nowMs, normal: nowMs, low: nowMs };
}
