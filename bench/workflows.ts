/**
 * Workflows bench (issue 18): the hand-off from an upstream step's job COMPLETED event to its
 * dependent's QUEUED event (p50/p99, over chains of steps), beside a bare NATS request round trip
 * measured in the same run on the same nats-server; and steps per second of a 200-step fan-out /
 * fan-in workflow (one root, 198 parallel steps, one sink), submit to COMPLETED.
 * Run: `npx tsx bench/workflows.ts` (BENCH_RUNS=n for more or fewer runs than 5).
 * Both event times are taken where this process receives them, so the hand-off includes one event
 * delivery, as a user watching would see it.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { runBench, startCluster } from "./lib/processes.ts";
import {
  benchRuns,
  fmtFigure,
  load1,
  machine,
  percentile,
  printResult,
  printTable,
  rounded,
  Samples,
} from "./lib/stats.ts";
import { tinySpec, troupeClient } from "./lib/troupe-load.ts";

const RUNS = benchRuns();
const CHAIN_STEPS = 20;
const FAN_WIDTH = 198;
const RTT_REQUESTS = 500;
const STALL_MS = 120_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

await runBench(async () => {
  const host = machine();
  console.log(
    `workflows bench — ${host.date}, ${host.cpu} × ${host.cores}, Node ${host.node}, load ${host.load1}`,
  );
  console.log(
    `${RUNS} runs; each step a tiny job (logistic regression, 1 task, 1 epoch); a chain of ${CHAIN_STEPS} steps, a fan-out/fan-in of ${FAN_WIDTH + 2}; 1 troupe process`,
  );
  const samples = new Samples();
  const loads: number[] = [];
  const cluster = await startCluster(1, { MAX_CONCURRENT_TASKS: "8" });
  const nc = await troupeClient(cluster.natsUrl);
  try {
    await runWorkflow(nc, chain(3)); // warm-up
    for (let run = 0; run < RUNS; run++) {
      loads.push(load1());
      samples.add("rtt_p50", percentile(await natsRoundTrips(nc, RTT_REQUESTS), 50));
      const handoffs = await chainHandoffs(nc);
      samples.add("handoff_p50", percentile(handoffs, 50));
      samples.add("handoff_p99", percentile(handoffs, 99));
      const fan = await runWorkflow(nc, fanOutIn(FAN_WIDTH));
      samples.add("steps_per_s", (FAN_WIDTH + 2) / fan.seconds);
      process.stdout.write(`  run ${run + 1}/${RUNS} done\n`);
    }
  } finally {
    await nc.close();
    await cluster.stop();
  }
  const rtt = samples.get("rtt_p50");
  const p50 = samples.get("handoff_p50");
  const p99 = samples.get("handoff_p99");
  const steps = samples.get("steps_per_s");
  printTable(
    "Step hand-off: upstream COMPLETED event → dependent QUEUED event (ms, median (min–max) of runs)",
    ["measure", "ms"],
    [
      ["bare NATS request round trip, p50", fmtFigure(rtt, 3)],
      [`hand-off p50 (${CHAIN_STEPS - 1} per run)`, fmtFigure(p50, 2)],
      [`hand-off p99 (${CHAIN_STEPS - 1} per run)`, fmtFigure(p99, 2)],
    ],
  );
  printTable(
    `Fan-out/fan-in of ${FAN_WIDTH + 2} steps, submit → COMPLETED`,
    ["measure", "steps/s"],
    [["steps per second", fmtFigure(steps, 1)]],
  );
  console.log(`load average during runs: ${Math.min(...loads)}–${Math.max(...loads)}`);
  printResult({
    bench: "workflows",
    date: host.date,
    machine: `${host.cpu} x ${host.cores}`,
    runs: RUNS,
    load1_min: Math.min(...loads),
    load1_max: Math.max(...loads),
    step_handoff_p50_ms: rounded(p50.median, 2),
    step_handoff_p99_ms: rounded(p99.median, 2),
    nats_rtt_p50_ms: rounded(rtt.median, 3),
    steps_per_s: rounded(steps.median, 1),
    steps_per_s_min: rounded(steps.min, 1),
    steps_per_s_max: rounded(steps.max, 1),
  });
});

function step(step_id: string, depends_on: string[] = []) {
  return { step_id, job: tinySpec(1), ...(depends_on.length > 0 ? { depends_on } : {}) };
}

function chain(length: number) {
  return {
    workflow_name: "bench_chain",
    steps: Array.from({ length }, (_, i) => step(`s${i}`, i > 0 ? [`s${i - 1}`] : [])),
  };
}

function fanOutIn(width: number) {
  const middle = Array.from({ length: width }, (_, i) => step(`m${i}`, ["root"]));
  return {
    workflow_name: "bench_fan",
    steps: [
      step("root"),
      ...middle,
      step(
        "sink",
        middle.map((m) => m.step_id),
      ),
    ],
  };
}

/** Round trips of an empty request to a responder in this process (ms each). */
async function natsRoundTrips(nc: NatsConnection, count: number): Promise<number[]> {
  const subject = "bench.rtt";
  const sub = nc.subscribe(subject, {
    callback: (_e, msg) => {
      msg.respond(msg.data);
    },
  });
  await nc.flush();
  const times: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const start = performance.now();
      await nc.request(subject, encoder.encode("{}"), { timeout: 5_000 });
      times.push(performance.now() - start);
    }
  } finally {
    sub.unsubscribe();
  }
  return times;
}

/** A chain's hand-offs: for each step, its QUEUED event time minus its upstream's COMPLETED. */
async function chainHandoffs(nc: NatsConnection): Promise<number[]> {
  const seen = new Map<string, { completed?: number; queued?: number }>();
  const sub = nc.subscribe("troupe.events.job.*", {
    callback: (_e, msg) => {
      const at = performance.now();
      const event = JSON.parse(decoder.decode(msg.data)) as { job_id: string; status: string };
      const times = seen.get(event.job_id) ?? {};
      if (event.status === "COMPLETED") times.completed ??= at;
      if (event.status === "QUEUED") times.queued ??= at;
      seen.set(event.job_id, times);
    },
  });
  try {
    const done = await runWorkflow(nc, chain(CHAIN_STEPS));
    const jobs = done.steps.map((s) => seen.get(s.job_id as string) ?? {});
    const handoffs: number[] = [];
    for (let i = 1; i < jobs.length; i++) {
      const upstream = jobs[i - 1]?.completed;
      const queued = jobs[i]?.queued;
      if (upstream !== undefined && queued !== undefined) handoffs.push(queued - upstream);
    }
    return handoffs;
  } finally {
    sub.unsubscribe();
  }
}

interface Ended {
  seconds: number;
  steps: { step_id: string; job_id: string | null; status: string }[];
}

/** Submits a workflow over NATS and resolves when its events say it has ended (COMPLETED only). */
async function runWorkflow(nc: NatsConnection, body: unknown): Promise<Ended> {
  const start = performance.now();
  let id: string | undefined;
  let resolve!: (value: Ended) => void;
  let reject!: (error: Error) => void;
  const ended = new Promise<Ended>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const early: string[] = [];
  const onEvent = (data: string) => {
    const event = JSON.parse(data) as {
      workflow_id: string;
      status: string;
      steps: Ended["steps"];
    };
    if (event.workflow_id !== id || event.status === "RUNNING") return;
    if (event.status !== "COMPLETED") reject(new Error(`workflow ${id} ended ${event.status}`));
    else resolve({ seconds: (performance.now() - start) / 1000, steps: event.steps });
  };
  const sub = nc.subscribe("troupe.events.workflow.*", {
    callback: (_e, msg) => {
      const data = decoder.decode(msg.data);
      if (id === undefined) early.push(data);
      else onEvent(data);
    },
  });
  const stall = setTimeout(() => reject(new Error("workflow stalled")), STALL_MS);
  try {
    const reply = await nc.request(
      "troupe.workflows.submit",
      encoder.encode(JSON.stringify(body)),
      {
        timeout: 30_000,
      },
    );
    const answer = JSON.parse(decoder.decode(reply.data)) as { workflow_id?: string };
    if (!answer.workflow_id) throw new Error(`refused: ${decoder.decode(reply.data)}`);
    id = answer.workflow_id;
    for (const data of early) onEvent(data);
    return await ended;
  } finally {
    clearTimeout(stall);
    sub.unsubscribe();
  }
}
