// Preloaded into troupe processes (NODE_OPTIONS=--import=…) when BENCH_CPU_PROF=<dir> is set:
// profiles the main thread from start-up and writes a .cpuprofile there when the process exits
// (a graceful exit: startCluster stops profiled processes with SIGTERM). `node --cpu-prof` would
// do the same but is not allowed in NODE_OPTIONS, and the cluster spawns `troupe` itself.
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";
import { isMainThread } from "node:worker_threads";

const dir = process.env.BENCH_CPU_PROF;
if (dir && isMainThread) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.start");
  process.on("exit", () => {
    // The in-thread inspector session answers synchronously, so this works in an exit handler.
    session.post("Profiler.stop", (error, result) => {
      if (error) return;
      writeFileSync(join(dir, `troupe-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
