/**
 * The workloads Troupe and its peers run in the benches, defined once so both sides run the same
 * training code on the same inputs.
 */
import type { TaskInput } from "../../src/training/types.ts";

export { tinySpec } from "./troupe-load.ts";

/**
 * A CPU task of about 20 ms of real math on this machine's cores (measured: a 64-unit network's
 * epoch over a ~1,950-row shard plus evaluation on the 5,000-row held-out split, which a pool
 * thread generates once per job and keeps): one job of `tasks` such tasks. Same spec for Troupe (a
 * job) and BullMQ (one job per task index).
 */
export function cpuSpec(tasks: number): Record<string, unknown> {
  return {
    model_type: "neural_network",
    dataset: { samples: 2_000 * tasks, features: 20, classes: 2, seed: 7 },
    hyperparameters: { hidden_units: 64 },
    epochs: 1,
    tasks,
  };
}

/** Task `index` of a job made from `spec`, as the pool (or a BullMQ processor) takes it. */
export function taskOf(spec: Record<string, unknown>, index: number): TaskInput {
  return { ...(spec as unknown as TaskInput), task_index: index };
}
