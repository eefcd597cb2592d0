import Type from "typebox";
import { type FieldProblem, InvalidRequestError, TroupeError } from "../errors.ts";
import type { SubmitReply } from "../jobs/gateway.ts";
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

// The envelope only; each spec is checked by the gateway's check (templates, the one schema).
const Specs = Type.Array(Type.Unknown(), { minItems: 1, maxItems: MAX_BATCH_SPECS });
const EnvelopeSchema = Type.Union([
  Type.Object({ specs: Specs }, { additionalProperties: false }),
  // Seed 001's shape: sequential = each job depends on the one before.
  Type.Object(
    {
      jobs: Specs,
      execution_mode: Type.Optional(Type.Enum(["parallel", "sequential"])),
    },
    { additionalProperties: false },
  ),
]);

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
  check: (spec: unknown) => Promise<FieldProblem[]>,
): Promise<BatchReply> {
  const envelope = schemaProblems(EnvelopeSchema, body);
  if (envelope.length > 0) throw new InvalidRequestError("batch", envelope);
  const given = body as { specs?: unknown[]; jobs?: unknown[]; execution_mode?: string };
  const key = given.specs ? "specs" : "jobs";
  const specs = given.specs ?? given.jobs ?? [];
  const problems: FieldProblem[] = [];
  const found = await Promise.all(specs.map((spec) => check(spec)));
  found.forEach((list, index) => {
    for (const p of list) problems.push({ ...p, path: `/${key}/${index}${p.path}` });
  });
  if (problems.length > 0) throw new InvalidRequestError("batch", problems);
  if (given.execution_mode === "sequential") return submitInSequence(specs, submit);

  const results: BatchItemResult[] = new Array(specs.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < specs.length; index = next++) {
      try {
        const reply = await submit(specs[index]);
        results[index] = { index, ok: true, ...reply };
      } catch (error) {
        results[index] = { index, ok: false, error: errorData(error) };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, specs.length) }, worker));
  return tally(results);
}

function tally(results: BatchItemResult[]): BatchReply {
  const submitted = results.filter((r) => r.ok).length;
  return { results, submitted, failed: results.length - submitted };
}

/**
 * Each job waits on the one before (depends_on): the chain runs one after another, and a job that
 * does not complete cancels the rest. A job not submitted (NATS trouble) ends the chain there.
 */
async function submitInSequence(
  specs: unknown[],
  submit: (spec: unknown) => Promise<SubmitReply>,
): Promise<BatchReply> {
  const results: BatchItemResult[] = [];
  let previous: string | undefined;
  for (const [index, spec] of specs.entries()) {
    if (results.some((r) => !r.ok)) {
      const error = {
        code: "TROUPE_ERR_NOT_SUBMITTED",
        message: "an earlier job was not submitted",
      };
      results.push({ index, ok: false, error });
      continue;
    }
    const body = spec as Record<string, unknown>;
    const waits = [
      ...((body.depends_on as string[] | undefined) ?? []),
      ...(previous ? [previous] : []),
    ];
    try {
      const reply = await submit(waits.length > 0 ? { ...body, depends_on: waits } : body);
      previous = reply.job_id;
      results.push({ index, ok: true, ...reply });
    } catch (error) {
      results.push({ index, ok: false, error: errorData(error) });
    }
  }
  return tally(results);
}

function errorData(error: unknown): { code: string; message: string } {
  return error instanceof TroupeError
    ? error.toJSON()
    : { code: "TROUPE_ERR_INTERNAL", message: (error as Error).message };
}
