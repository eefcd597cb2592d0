// BullMQ sandboxed processor (run in a worker thread with `useWorkerThreads: true`): the same
// training code Troupe's pool threads run — `resolveTaskInput` then `train` from src/training —
// with each epoch's progress sent the BullMQ way, `job.updateProgress` (a Redis write).
// Sandbox threads do not inherit a TypeScript loader, so tsx compiles the sources here.
import { tsImport } from "tsx/esm/api";

const { train } = await tsImport("../../src/training/train.ts", import.meta.url);
const { resolveTaskInput } = await tsImport("../../src/training/training-spec.ts", import.meta.url);

const noAbort = () => undefined;

export default async function trainJob(job) {
  const progress = [];
  const result = train(resolveTaskInput(job.data), {
    checkAbort: noAbort,
    onProgress: (p) =>
      progress.push(job.updateProgress({ epoch: p.epoch, loss: p.loss, accuracy: p.accuracy })),
    onCheckpoint: () => undefined,
  });
  await Promise.all(progress);
  return {
    metrics: result.metrics,
    model: Buffer.from(
      result.model.buffer,
      result.model.byteOffset,
      result.model.byteLength,
    ).toString("base64"),
  };
}
