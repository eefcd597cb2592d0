import { pack } from "msgpackr";
import { describe, expect, it } from "vitest";
import type { Resources } from "../../src/contract/resources.ts";
import { InvalidRequestError } from "../../src/errors.ts";
import { unschedulableVerdict } from "../../src/jobs/job-placement.ts";
import type { JobRecord } from "../../src/jobs/job-record.ts";
import { parseJobSpec } from "../../src/jobs/job-spec.ts";
import { availability } from "../../src/placement/availability.ts";
import { ClusterView } from "../../src/placement/cluster-view.ts";
import { fitCount, pulledLanes } from "../../src/placement/lane-plan.ts";
import { preferredOver, rank } from "../../src/placement/placement-policy.ts";
import {
  DEFAULT_NEED,
  laneClassOf,
  NO_RESOURCES,
  unschedulableReason,
  type WorkerCapacity,
} from "../../src/placement/resources.ts";
import type { WorkerRecord } from "../../src/workers/worker-record.ts";
import { MemoryClassLanes } from "../support/memory-ports.ts";
import { SimulatedClock } from "../support/simulated-clock.ts";

const cores = (cpu_cores: number, memory_gb = 0, gpu_count = 0): Resources => ({
  cpu_cores,
  memory_gb,
  gpu_count,
});

function worker(id: string, total: Resources, extra: Partial<WorkerCapacity> = {}): WorkerCapacity {
  return {
    worker_id: id,
    started_ms: 0,
    total,
    allocated: NO_RESOURCES,
    services: null,
    labels: {},
    ...extra,
  };
}

const spec = (resources: Partial<Resources>, extra: Record<string, unknown> = {}) => ({
  model_type: "neural_network",
  resources: { cpu_cores: 1, memory_gb: 1, gpu_count: 0, ...resources },
  ...extra,
});

const twoCores = { need: cores(2, 1), service: "neural_network", node_selector: {} };

describe("resource classes", () => {
  it("keeps tasks within the default resources on the default lanes, unless workers route by service", () => {
    expect(laneClassOf(spec({}), false)).toBeUndefined();
    expect(laneClassOf(spec({ memory_gb: 0.5 }), false)).toBeUndefined();
    const routed = laneClassOf(spec({}), true);
    expect(routed).toMatchObject({ need: DEFAULT_NEED, service: "neural_network" });
  });

  it("gives the same class to the same need, service and selector, and another to any difference", () => {
    const a = laneClassOf(
      spec({ cpu_cores: 2 }, { node_selector: { zone: "a", disk: "ssd" } }),
      false,
    );
    const b = laneClassOf(
      spec({ cpu_cores: 2 }, { node_selector: { disk: "ssd", zone: "a" } }),
      false,
    );
    const c = laneClassOf(spec({ cpu_cores: 2 }, { service: "svm" }), false);
    expect(a?.key).toMatch(/^k[0-9a-f]{12}$/);
    expect(a?.key).toBe(b?.key);
    expect(c?.key).not.toBe(a?.key);
    expect(c).toMatchObject({ need: cores(2, 1, 0), service: "svm" });
  });
});

describe("node_selector in a job spec", () => {
  const parse = (node_selector: unknown) =>
    parseJobSpec({ model_type: "svm", node_selector }, { maxAttempts: 1 });

  it("keeps the labels a job asks for, and drops an empty selector", () => {
    expect(parse({ zone: "a", disk: "ssd" }).node_selector).toEqual({ zone: "a", disk: "ssd" });
    expect(parse({}).node_selector).toBeUndefined();
  });

  it("refuses a bad label, naming it", () => {
    for (const [selector, path] of [
      [{ "my zone": "a" }, "/node_selector/my zone"],
      [{ zone: "a b" }, "/node_selector/zone"],
      [{ zone: 1 }, "/node_selector/zone"],
    ] as const) {
      let error: unknown;
      try {
        parse(selector);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect((error as InvalidRequestError).problems.map((p) => p.path)).toEqual([path]);
    }
  });
});

describe("what a worker pulls", () => {
  const classes = new Map([
    ["kgpu", { need: cores(1, 1, 1), service: "neural_network", node_selector: {} }],
    ["ktwo", twoCores],
    ["ksvm", { need: DEFAULT_NEED, service: "svm", node_selector: {} }],
    ["kzone", { need: cores(1, 2), service: "neural_network", node_selector: { zone: "b" } }],
  ]);

  it("pulls the default lanes and only the classes it could ever run", () => {
    const lanes = pulledLanes(worker("w", cores(1, 8)), classes);
    expect(lanes.map((lane) => lane.laneClass)).toEqual([undefined, "ksvm"]);
    const big = pulledLanes(worker("w", cores(4, 8, 1), { labels: { zone: "b" } }), classes);
    expect(big.map((lane) => lane.laneClass)).toEqual([undefined, "kgpu", "ksvm", "ktwo", "kzone"]);
  });

  it("never pulls the default lanes nor another service's class when WORKER_SERVICES is set", () => {
    const lanes = pulledLanes(worker("w", cores(4, 8), { services: ["svm"] }), classes);
    expect(lanes.map((lane) => lane.laneClass)).toEqual(["ksvm"]);
  });

  it("pulls only as many chunks as fit its free slots, memory and GPUs", () => {
    expect(fitCount(cores(3, 10, 0), cores(2, 1))).toBe(1);
    expect(fitCount(cores(8, 3, 0), cores(1, 2))).toBe(1);
    expect(fitCount(cores(8, 100, 1), cores(1, 0, 1))).toBe(1);
    expect(fitCount(cores(8, 100, 0), cores(1, 0, 1))).toBe(0);
    expect(fitCount(cores(5, 0, 0), DEFAULT_NEED)).toBe(5);
  });
});

describe("PLACEMENT among the workers that fit", () => {
  const four = worker("w4", cores(4, 16));
  const two = worker("w2", cores(2, 16));

  it("best_fit prefers the tightest fit, so the 2-core worker fills first", () => {
    expect(rank("best_fit", twoCores, [four, two]).map((w) => w.worker_id)).toEqual(["w2", "w4"]);
    expect(preferredOver("best_fit", twoCores, four, [two])?.worker_id).toBe("w2");
    const full = { ...two, allocated: cores(2, 1) };
    expect(preferredOver("best_fit", twoCores, four, [full])).toBeUndefined();
  });

  it("least_loaded prefers the least loaded, so tasks spread", () => {
    expect(preferredOver("least_loaded", twoCores, two, [four])?.worker_id).toBe("w4");
    const half = { ...four, allocated: cores(2, 1) };
    expect(preferredOver("least_loaded", twoCores, half, [two])?.worker_id).toBe("w2");
  });

  it("first_fit prefers the worker that registered first", () => {
    const early = { ...four, started_ms: 1 };
    const late = { ...two, started_ms: 2 };
    expect(preferredOver("first_fit", twoCores, late, [early])?.worker_id).toBe("w4");
    expect(preferredOver("first_fit", twoCores, early, [late])).toBeUndefined();
  });

  it("never defers to a worker that cannot take the task now", () => {
    const gpuTask = { need: cores(1, 1, 1), service: "neural_network", node_selector: {} };
    const gpu = worker("gpu", cores(4, 16, 1));
    expect(preferredOver("best_fit", gpuTask, gpu, [two])).toBeUndefined();
    const svmOnly = worker("s", cores(1, 16), { services: ["svm"] });
    expect(preferredOver("best_fit", twoCores, four, [svmOnly])).toBeUndefined();
  });
});

describe("unschedulable", () => {
  const small = [worker("a", cores(1, 4)), worker("b", cores(3, 8), { labels: { zone: "a" } })];

  it("names what no live worker has", () => {
    expect(unschedulableReason({ ...twoCores, need: cores(1, 1, 1) }, small)).toBe(
      "needs gpu_count 1; the largest worker has 0",
    );
    expect(unschedulableReason({ ...twoCores, need: cores(4, 1) }, small)).toBe(
      "needs cpu_cores 4; the largest worker has 3",
    );
    expect(unschedulableReason({ ...twoCores, node_selector: { zone: "b" } }, small)).toBe(
      "needs labels zone=b; no live worker has them (WORKER_LABELS)",
    );
    const restricted = [worker("s", cores(4, 8), { services: ["svm"] })];
    expect(unschedulableReason(twoCores, restricted)).toMatch(/^needs service neural_network/);
    const lopsided = [worker("c", cores(4, 2)), worker("d", cores(1, 16))];
    expect(unschedulableReason({ ...twoCores, need: cores(2, 4) }, lopsided)).toBe(
      "needs cpu_cores 2, memory_gb 4 on one worker; no live worker has them all",
    );
  });

  it("has no reason when some worker fits, or when no worker is live to judge by", () => {
    expect(unschedulableReason(twoCores, small)).toBeUndefined();
    expect(unschedulableReason({ ...twoCores, need: cores(1, 1, 1) }, [])).toBeUndefined();
  });

  it("fails a job only once it has been unschedulable for MAX_UNSCHEDULABLE", () => {
    const clock = new SimulatedClock();
    const record = {
      job_id: "job_x",
      status: "QUEUED",
      tasks_enqueued: true,
      running_tasks: 0,
      lane_class: "kgpu",
      spec: spec({ gpu_count: 1 }),
    } as unknown as JobRecord;
    const first = unschedulableVerdict(record, small, clock.now(), 5_000);
    expect(first).toEqual({
      kind: "unschedulable",
      reason: "needs gpu_count 1; the largest worker has 0",
      since: clock.now(),
    });
    const marked = { ...record, unschedulable_since: new Date(clock.now()).toISOString() };
    clock.advance(4_999);
    expect(unschedulableVerdict(marked, small, clock.now(), 5_000).kind).toBe("unschedulable");
    clock.advance(1);
    expect(unschedulableVerdict(marked, small, clock.now(), 5_000)).toEqual({
      kind: "fail",
      reason: "needs gpu_count 1; the largest worker has 0",
    });
    expect(unschedulableVerdict(marked, small, clock.now(), undefined).kind).toBe("unschedulable");
    const gpu = [...small, worker("g", cores(1, 4, 1))];
    expect(unschedulableVerdict(marked, gpu, clock.now(), 5_000).kind).toBe("schedulable");
  });
});

describe("availability", () => {
  it("sums the live workers and leaves a stale one's allocation out", () => {
    const record = (id: string, status: WorkerRecord["status"], allocated: Resources) =>
      ({
        worker_id: id,
        status,
        started_at: "2026-01-01T00:00:00.000Z",
        capabilities: { cpu_cores: 4, memory_gb: 8, gpu_count: 1, max_concurrent_tasks: 4 },
        allocated,
      }) as WorkerRecord;
    const answer = availability([
      record("a", "BUSY", cores(2, 3, 1)),
      record("b", "IDLE", NO_RESOURCES),
      record("dead", "STALE", cores(2, 1)),
    ]);
    expect(answer.cluster).toEqual({
      workers: 2,
      total: cores(8, 16, 2),
      allocated: cores(2, 3, 1),
      free: cores(6, 13, 1),
    });
    expect(answer.workers.map((w) => [w.worker_id, w.services, w.free])).toEqual([
      ["a", null, cores(2, 5, 0)],
      ["b", null, cores(4, 8, 1)],
    ]);
  });
});

describe("a process's view of the cluster", () => {
  it("counts live workers only (not stale, not draining), and routes by service once one is restricted", () => {
    const clock = new SimulatedClock(Date.parse("2026-01-01T00:00:10.000Z"));
    let tell: (workerId: string, record: Uint8Array | undefined) => void = () => {};
    const classes = new MemoryClassLanes();
    const view = new ClusterView({
      workers: {
        follow(onChange) {
          tell = onChange;
          return () => {};
        },
      },
      classes,
      workerTimeoutMs: 60_000,
      selfRestricted: false,
      clock,
    });
    view.start();
    const record = (id: string, status: WorkerRecord["status"], services?: string[]) =>
      pack({
        worker_id: id,
        status,
        started_at: "2026-01-01T00:00:00.000Z",
        last_activity_time: new Date(clock.now()).toISOString(),
        heartbeat_interval_ms: 1_000,
        capabilities: {
          cpu_cores: 2,
          memory_gb: 4,
          gpu_count: 0,
          max_concurrent_tasks: 2,
          ...(services && { services }),
        },
      });
    tell("a", record("a", "IDLE"));
    tell("b", record("b", "DRAINING"));
    expect(view.live().map((w) => w.worker_id)).toEqual(["a"]);
    expect(view.routesByService()).toBe(false);
    tell("c", record("c", "BUSY", ["svm"]));
    expect(view.routesByService()).toBe(true);
    clock.advance(2_001); // two heartbeats missed: stale, whatever they said
    expect(view.live()).toEqual([]);
    expect(view.routesByService()).toBe(false);
    tell("a", record("a", "IDLE"));
    expect(view.live().map((w) => w.worker_id)).toEqual(["a"]);
    tell("a", undefined);
    expect(view.live()).toEqual([]);
    view.close();
  });
});
