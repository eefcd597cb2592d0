/**
 * The run queue shared by every actor in the process. An actor with work is queued once; one
 * microtask drains the queue, running each actor's mailbox for a batch. Sync handlers therefore
 * cost a loop iteration, not a microtask each, and a message sent from inside a handler is picked
 * up by the same drain. After a budget of messages the drain yields with `setImmediate`, so a busy
 * actor cannot starve I/O and timers.
 */
export interface Runnable {
  /** Handles up to `budget` messages; returns how many it handled. Re-queues itself if needed. */
  run(budget: number): number;
}

/** Messages one actor handles before the next actor gets a turn. */
const ACTOR_BATCH = 512;
/** Messages handled in one drain before yielding to the event loop. */
const DRAIN_BUDGET = 16_384;

let queue: (Runnable | undefined)[] = [];
let head = 0;
let flushing = false;

export function enqueueRunnable(runnable: Runnable): void {
  queue.push(runnable);
  if (!flushing) {
    flushing = true;
    queueMicrotask(flush);
  }
}

function flush(): void {
  let budget = DRAIN_BUDGET;
  while (head < queue.length) {
    const runnable = queue[head];
    queue[head++] = undefined;
    if (runnable === undefined) continue;
    try {
      budget -= runnable.run(ACTOR_BATCH);
    } catch (error) {
      // Cells contain their handlers' errors; this is a runtime bug. Keep the other actors going.
      process.emitWarning(`troupe scheduler: an actor's run failed: ${String(error)}`);
    }
    if (budget <= 0 && head < queue.length) {
      queue = queue.slice(head);
      head = 0;
      setImmediate(flush);
      return;
    }
  }
  queue.length = 0;
  head = 0;
  flushing = false;
}
