import type { Behavior } from "../../src/actors/behavior.ts";
import type { EventStream } from "../../src/actors/event-stream.ts";
import type { ActorEvent } from "../../src/actors/events.ts";

/**
 * A child behavior that logs its lifecycle into `log` and crashes on "crash" (in its handler)
 * and stops itself on "quit". It replies `<id>:<message>#<handled by this instance>`, so a
 * restart's fresh state is visible.
 */
export function recorder(log: string[], id: string): Behavior<string, string> {
  return () => {
    let handled = 0;
    return {
      preStart: () => void log.push(`start ${id}`),
      postStop: () => void log.push(`stop ${id}`),
      preRestart: (error, message) =>
        void log.push(`preRestart ${id} ${(error as Error).message} ${String(message)}`),
      receive(message, ctx) {
        if (message === "crash") throw new Error(`${id} crashed`);
        if (message === "quit") ctx.stop();
        handled++;
        return `${id}:${message}#${handled}`;
      },
    };
  };
}

/** Resolves with the next `count` events of `type` (from now on). */
export function nextEvents<T extends ActorEvent["type"]>(
  events: EventStream<ActorEvent>,
  type: T,
  count: number,
): Promise<Extract<ActorEvent, { type: T }>[]> {
  return new Promise((resolve) => {
    const seen: Extract<ActorEvent, { type: T }>[] = [];
    const off = events.on(type, (event) => {
      seen.push(event);
      if (seen.length === count) {
        off();
        resolve(seen);
      }
    });
  });
}
