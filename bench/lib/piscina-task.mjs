// The bare piscina task of bench/limits.ts: `noop` returns at once; `train` runs the same training
// code as Troupe's pool threads (validation and `train` from src/training), with no progress port,
// no checkpoints and no abort flags. tsx compiles the sources: threads inherit no loader.
import { tsImport } from "tsx/esm/api";

const { train } = await tsImport("../../src/training/train.ts", import.meta.url);
const { resolveTaskInput } = await tsImport("../../src/training/training-spec.ts", import.meta.url);

const hooks = {
  checkAbort: () => undefined,
  onProgress: () => undefined,
  onCheckpoint: () => undefined,
};

export default function task(request) {
  if (request.kind === "noop") return null;
  return train(resolveTaskInput(request.input), hooks).metrics.duration_ms;
}
