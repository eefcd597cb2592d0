import { describe, expect, it } from "vitest";
import { CI_CHAOS, chaosTable, runChaos } from "../../bench/chaos.ts";
import { recordChild } from "../support/child-registry.ts";

describe("the cluster under chaos", () => {
  it("loses no task and records no result twice through kill -9s, a SIGTERM, a NATS restart and actor faults", async () => {
    // No fault-free baseline here (it would double the time): `npx tsx bench/chaos.ts --ci`
    // runs the same workload with it and reports the wall-time ratio.
    // The run's own account (faults, progress, why processes stopped) is printed if it fails.
    const story: string[] = [];
    try {
      const result = await runChaos({
        ...CI_CHAOS,
        baseline: false,
        onChild: recordChild,
        log: (line) => story.push(line),
      });
      console.log(`${chaosTable(result)}\nRESULT ${JSON.stringify(result)}`);

      expect(result.faults.kill9).toBeGreaterThanOrEqual(5);
      expect(result.faults.nats_restart).toBe(1);
      expect(result.faults.sigterm).toBe(1);
      expect(result.sigterm_exit_codes).toEqual([0]);
      expect(result.unexpected_exits).toEqual([]);
      expect(result.jobs_completed).toBe(50);
      expect(result.tasks).toBe(50 * CI_CHAOS.tasksPerJob);
      expect(result.lost_tasks).toBe(0);
      expect(result.duplicate_records).toBe(0);
    } catch (error) {
      console.log(story.join("\n"));
      throw error;
    }
  }, 180_000);
});
