/**
 * Cooperative cancellation inside a pool thread: the main thread flips a shared flag; the training
 * loops call the check between mini-batches and tree nodes, which throws `TaskAborted`.
 */

/** Thrown inside a thread when its task's abort flag is set. */
export class TaskAborted extends Error {
  constructor() {
    super("training task aborted");
    this.name = "TaskAborted";
  }
}

/** Throws `TaskAborted` when the task was asked to stop. */
export type AbortCheck = () => void;

/** A check reading a flag shared with the main thread (`Int32Array` on a SharedArrayBuffer). */
export function abortCheckFor(flag: Int32Array): AbortCheck {
  return () => {
    // Slot 0 is `Flag.abort` (protocol.ts).
    if (Atomics.load(flag, 0) !== 0) throw new TaskAborted();
  };
}

/** A check that never fires. */
export const neverAbort: AbortCheck = () => {};
