import Type from "typebox";
import {
  type FieldProblem,
  InvalidRequestError,
  JobNotFoundError,
  JobNotWaitingError,
} from "../errors.ts";
import { schemaProblems } from "../validation.ts";
import { DEPENDENCY_TYPES, dependencyCycle } from "./job-dependencies.ts";
import type { JobRecord } from "./job-record.ts";
import type { JobStore } from "./job-store.ts";

const JOB_ID = "^job_[0-9a-z]{19}$";

/** `POST /api/v1/jobs/:id/dependencies` and `troupe.jobs.dependencies` (seed 001's body). */
export const AddDependenciesSchema = Type.Object(
  {
    job_id: Type.String({ pattern: JOB_ID, description: "The job that is to wait." }),
    depends_on: Type.Array(Type.String({ pattern: JOB_ID }), {
      minItems: 1,
      maxItems: 1000,
      description: "Jobs it is to wait for too (added to those it already waits for).",
    }),
    dependency_type: Type.Optional(
      Type.Enum([...DEPENDENCY_TYPES], {
        description: "Replaces the job's dependency_type when given.",
      }),
    ),
  },
  { additionalProperties: false },
);

/**
 * Refuses dependencies that name no job, naming each (`/depends_on/1`), so a typo cannot leave a
 * job waiting forever.
 */
export async function checkDependenciesExist(
  store: JobStore,
  ids: readonly string[],
  path = "/depends_on",
): Promise<void> {
  const found = await Promise.all(ids.map((id) => store.get(id)));
  const problems: FieldProblem[] = [];
  ids.forEach((id, i) => {
    if (!found[i]) problems.push({ path: `${path}/${i}`, message: `no job with job_id '${id}'` });
  });
  if (problems.length > 0) throw new InvalidRequestError("dependencies", problems);
}

/**
 * Adds dependencies to a job that is not queued yet; refuses unknown jobs and a cycle (named,
 * `a → b → a`). The job's owner is told to look again by the caller.
 */
export async function addDependencies(store: JobStore, body: unknown): Promise<JobRecord> {
  const problems = schemaProblems(AddDependenciesSchema, body);
  if (problems.length > 0) throw new InvalidRequestError("dependencies request", problems);
  const request = body as Type.Static<typeof AddDependenciesSchema>;
  const { job_id: jobId } = request;
  const current = await store.get(jobId);
  if (!current) throw new JobNotFoundError(jobId);
  assertWaiting(current.value);
  await checkDependenciesExist(store, request.depends_on);
  const cycle = await dependencyCycle(
    jobId,
    request.depends_on,
    async (id) => (await store.get(id))?.value.spec.depends_on,
  );
  if (cycle) {
    throw new InvalidRequestError("dependencies", [
      { path: "/depends_on", message: `would close a cycle: ${cycle.join(" → ")}` },
    ]);
  }
  const updated = await store.update(jobId, (job) => {
    assertWaiting(job);
    const depends_on = [...new Set([...(job.spec.depends_on ?? []), ...request.depends_on])];
    const dependency_type =
      request.dependency_type ?? job.spec.dependency_type ?? ("all_complete" as const);
    return { ...job, spec: { ...job.spec, depends_on, dependency_type } };
  });
  if (!updated) throw new JobNotFoundError(jobId);
  return updated;
}

/**
 * Only a job whose owner waits on its dependencies takes more: one submitted without any is
 * queued by its owner at once, and dependencies added meanwhile would come too late.
 */
function assertWaiting(job: JobRecord): void {
  const waits = job.status === "WAITING" || (job.status === "SUBMITTED" && job.spec.depends_on);
  if (job.tasks_enqueued || !waits) throw new JobNotWaitingError(job.job_id, job.status);
}
