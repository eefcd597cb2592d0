/**
 * Actor runtime throughput and footprint. Run: `node --expose-gc --import tsx bench/actors.ts`.
 * Prints a table (median of RUNS runs, with min and max) and, last, `RESULT {json}`.
 * Targets (2 cores): tell ≥ 2,000,000 msgs/s; local ask ≥ 300,000/s; remote ask ≥ 60 % of a
 * bare NATS request/reply loop; ≤ 1 KiB heap per idle actor.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { createActorSystem } from "../src/actors/actor-system.ts";
import { createNatsRemotePort } from "../src/transport/remote-actors.ts";
import { freePort } from "../test/support/free-port.ts";

const RUNS = 5;
const TELL_MESSAGES = 2_000_000;
const TELL_CHUNK = 5_000;
const LOCAL_ASKS = 300_000;
const REMOTE_ASKS = 4_000;
const IDLE_ACTORS = 100_000;

interface Figure {
  median: number;
  min: number;
  max: number;
}

async function measure(run: () => Promise<number>): Promise<Figure> {
  await run(); // warm-up: JIT and buffers
  const results: number[] = [];
  for (let i = 0; i < RUNS; i++) results.push(await run());
  results.sort((a, b) => a - b);
  return {
    median: results[Math.floor(results.length / 2)] as number,
    min: results[0] as number,
    max: results[results.length - 1] as number,
  };
}

function perSecond(count: number, startedAt: bigint): number {
  return count / (Number(process.hrtime.bigint() - startedAt) / 1e9);
}

async function localTell(): Promise<number> {
  const system = createActorSystem();
  let received = 0;
  const ref = system.spawn<number, number>(() => ({
    receive(message) {
      received += message;
      return received;
    },
  }));
  const started = process.hrtime.bigint();
  for (let sent = 0; sent < TELL_MESSAGES; sent += TELL_CHUNK) {
    for (let i = 0; i < TELL_CHUNK; i++) ref.tell(1);
    // The ask queues behind the chunk, so it resolves once the chunk is handled.
    await ref.ask(0);
  }
  const rate = perSecond(TELL_MESSAGES, started);
  if (received !== TELL_MESSAGES) throw new Error(`lost messages: ${received}`);
  await system.shutdown();
  return rate;
}

async function localAsk(): Promise<number> {
  const system = createActorSystem();
  const ref = system.spawn<number, number>(() => ({ receive: (n) => n + 1 }));
  const started = process.hrtime.bigint();
  for (let i = 0; i < LOCAL_ASKS; i++) await ref.ask(i);
  const rate = perSecond(LOCAL_ASKS, started);
  await system.shutdown();
  return rate;
}

async function remoteAsk(client: NatsConnection, server: NatsConnection): Promise<number> {
  const host = createActorSystem({ remote: createNatsRemotePort(server) });
  host.spawn<number, number>(() => ({ receive: (n) => n + 1 }), {
    name: "bench-echo",
    cluster: true,
  });
  await server.flush();
  const asker = createActorSystem({ remote: createNatsRemotePort(client) });
  const ref = asker.actorFor<number, number>("bench-echo");
  const started = process.hrtime.bigint();
  for (let i = 0; i < REMOTE_ASKS; i++) await ref.ask(i);
  const rate = perSecond(REMOTE_ASKS, started);
  await asker.shutdown();
  await host.shutdown();
  return rate;
}

async function bareNats(client: NatsConnection, server: NatsConnection): Promise<number> {
  const subscription = server.subscribe("bench.bare", {
    callback: (_error, msg) => {
      msg.respond(msg.data);
    },
  });
  await server.flush();
  const payload = new Uint8Array([1, 2, 3, 4]);
  const started = process.hrtime.bigint();
  for (let i = 0; i < REMOTE_ASKS; i++)
    await client.request("bench.bare", payload, { timeout: 5_000 });
  const rate = perSecond(REMOTE_ASKS, started);
  subscription.unsubscribe();
  return rate;
}

async function idleActorHeap(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const collect = () => {
    for (let i = 0; i < 3; i++) gc?.();
  };
  const system = createActorSystem();
  const receive = (message: unknown) => message;
  collect();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < IDLE_ACTORS; i++) system.spawn(() => ({ receive }));
  collect();
  const after = process.memoryUsage().heapUsed;
  await system.shutdown();
  return (after - before) / IDLE_ACTORS;
}

async function main(): Promise<void> {
  if ((globalThis as { gc?: unknown }).gc === undefined) {
    console.warn("note: run with `node --expose-gc --import tsx` for a precise heap figure");
  }
  const nats = await startNatsServer();
  const client = await connect({ servers: nats.url, noAsyncTraces: true });
  const server = await connect({ servers: nats.url, noAsyncTraces: true });
  try {
    const tell = await measure(localTell);
    const ask = await measure(localAsk);
    // Interleave remote and bare runs so both see the same machine load.
    const remoteRuns: number[] = [];
    const bareRuns: number[] = [];
    await remoteAsk(client, server);
    await bareNats(client, server);
    for (let i = 0; i < RUNS; i++) {
      bareRuns.push(await bareNats(client, server));
      remoteRuns.push(await remoteAsk(client, server));
    }
    const remote = summarize(remoteRuns);
    const bare = summarize(bareRuns);
    const heap = await measure(idleActorHeap);

    const rows: [string, Figure, string][] = [
      ["local tell (msgs/s)", tell, "≥ 2,000,000"],
      ["local ask (round trips/s)", ask, "≥ 300,000"],
      [
        "remote ask over NATS (round trips/s)",
        remote,
        `≥ ${fmt(bare.median * 0.6)} (60 % of bare)`,
      ],
      ["bare NATS request/reply (round trips/s)", bare, "baseline"],
      ["heap per idle actor (bytes, 100k actors)", heap, "≤ 1,024"],
    ];
    console.log(`\nTroupe actors — median of ${RUNS} runs (min … max), node ${process.version}\n`);
    console.log(
      `${"measure".padEnd(44)}${"median".padStart(14)}${"min".padStart(14)}${"max".padStart(14)}  target`,
    );
    for (const [label, figure, target] of rows) {
      console.log(
        `${label.padEnd(44)}${fmt(figure.median).padStart(14)}${fmt(figure.min).padStart(14)}${fmt(figure.max).padStart(14)}  ${target}`,
      );
    }
    console.log(`remote / bare: ${((remote.median / bare.median) * 100).toFixed(1)} %\n`);
    const result = {
      tell_msgs_per_s: Math.round(tell.median),
      local_ask_per_s: Math.round(ask.median),
      remote_ask_per_s: Math.round(remote.median),
      bare_nats_reqrep_per_s: Math.round(bare.median),
      remote_vs_bare: Number((remote.median / bare.median).toFixed(3)),
      heap_bytes_per_idle_actor: Math.round(heap.median),
      runs: RUNS,
      min: {
        tell: Math.round(tell.min),
        ask: Math.round(ask.min),
        remote: Math.round(remote.min),
        bare: Math.round(bare.min),
        heap: Math.round(heap.min),
      },
      max: {
        tell: Math.round(tell.max),
        ask: Math.round(ask.max),
        remote: Math.round(remote.max),
        bare: Math.round(bare.max),
        heap: Math.round(heap.max),
      },
    };
    console.log(`RESULT ${JSON.stringify(result)}`);
  } finally {
    await client.close();
    await server.close();
    nats.process.kill("SIGKILL");
  }
}

function summarize(values: number[]): Figure {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    median: sorted[Math.floor(sorted.length / 2)] as number,
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
  };
}

function fmt(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

async function startNatsServer(): Promise<{ url: string; process: ChildProcess }> {
  const binary =
    process.env.NATS_SERVER_BIN ??
    [...(process.env.PATH ?? "").split(":"), "/usr/sbin"]
      .map((dir) => join(dir, "nats-server"))
      .find((path) => existsSync(path));
  if (binary === undefined)
    throw new Error("nats-server not found: bash scripts/ensure-nats-server");
  const port = await freePort();
  const child = spawn(binary, ["-a", "127.0.0.1", "-p", String(port)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  await new Promise<void>((resolve, reject) => {
    let output = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Server is ready")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`nats-server exited (${code}): ${output}`)));
  });
  return { url: `nats://127.0.0.1:${port}`, process: child };
}

await main();
