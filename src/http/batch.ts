import Type from "typebox";
import { type FieldProblem, InvalidRequestError, TroupeError } from "../errors.ts";
import type { SubmitReply } from "../jobs/gateway.ts";
import { parseJobSpec } from "../jobs/job-spec.ts";
import { schemaProblems } from "../validation.ts";
import { MAX_BATCH_SPECS } from "./schemas.ts";

/** The result of one spec of a batch, at its index. */
export interface BatchItemResult {
  index: number;
  ok: boolean;
  job_id?: string;
  status?: string;
  total_tasks?: number;
  duplicate?: boolean;
  error?: { code: string; message: string };
}

export interface BatchReply {
  results: BatchItemResult[];
  submitted: number;
  failed: number;
}

// The envelope only; each spec is checked by parseJobSpec, the one job-spec check.
const EnvelopeSchema = Type.Object(
  { specs: Type.Array(Type.Unknown(), { minItems: 1, maxItems: MAX_BATCH_SPECS }) },
  { additionalProperties: false },
);

// Submits in flight at once: enough to overlap NATS round trips, few enough to stay fair.
const CONCURRENCY = 16;

/**
 * Validates every spec of `{ specs: [...] }` before any is queued: one bad spec refuses the whole
 * batch with a problem per field (`/specs/3/model_type`) and queues nothing. Then submits each and
 * reports a result per spec; a spec that fails to queue (NATS trouble) does not stop the others.
 */
export async function submitBatch(
  body: unknown,
  submit: (spec: unknown) => Promise<SubmitReply>,
): Promise<BatchReply> {
  const envelope = schemaProblems(EnvelopeSchema, body);
  if (envelope.length > 0) throw new InvalidRequestError("batch", envelope);
  const specs = (body as { specs: unknown[] }).specs;
  const problems: FieldProblem[] = [];
  specs.forEach((spec, index) => {
    try {
      parseJobSpec(spec, { maxAttempts: 1 });
    } catch (error) {
      if (!(error instanceof InvalidRequestError)) throw error;
      for (const p of error.problems) problems.push({ ...p, path: `/specs/${index}${p.path}` });
    }
  });
  if (problems.length > 0) throw new InvalidRequestError("batch", problems);

  const results: BatchItemResult[] = new Array(specs.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < specs.length; index = next++) {
      try {
        const reply = await submit(specs[index]);
        results[index] = { index, ok: true, ...reply };
      } catch (error) {
        const data =
          error instanceof TroupeError
            ? error.toJSON()
            : { code: "TROUPE_ERR_INTERNAL", message: (error as Error).message };
        results[index] = { index, ok: false, error: data };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, specs.length) }, worker));
  const submitted = results.filter((r) => r.ok).length;
  return { results, submitted, failed: results.length - submitted };
}
