import Type, { type Static, type TSchema } from "typebox";
import type { Clock } from "../clock.ts";
import { InvalidRequestError, WorkflowEndedError, WorkflowNotFoundError } from "../errors.ts";
import type { WorkflowEventSink } from "../transport/ports.ts";
import { schemaProblems } from "../validation.ts";
import { manifestWorkflow } from "./manifest.ts";
import {
  isTerminalStepState,
  isTerminalWorkflowState,
  WORKFLOW_ID,
  WORKFLOW_STATES,
  type WorkflowRecord,
} from "./workflow-record.ts";
import { type JobBodyCheck, parseWorkflow } from "./workflow-spec.ts";
import type { WorkflowStore } from "./workflow-store.ts";

export const WorkflowIdQuerySchema = Type.Object(
  { workflow_id: Type.String({ pattern: WORKFLOW_ID, description: "As returned by submit." }) },
  { additionalProperties: false },
);
export const WorkflowListQuerySchema = Type.Object(
  {
    status: Type.Optional(Type.Enum([...WORKFLOW_STATES])),
    user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
    cursor: Type.Optional(Type.String({ pattern: WORKFLOW_ID })),
  },
  { additionalProperties: false },
);

export interface WorkflowSubmitReply {
  workflow_id: string;
  status: string;
  total_steps: number;
  message: string;
}

export interface WorkflowServiceOptions {
  store: WorkflowStore;
  /** Writes the workflow's lease message (whoever takes it drives the workflow). */
  publishLease(workflowId: string): Promise<void>;
  /** Tells the workflow's driver to look again. */
  nudge(workflowId: string): void;
  events: WorkflowEventSink;
  /** A step's job body checked as a submit would check it. */
  checkJob: JobBodyCheck;
  /** The gateway's cancel; a job that has already ended is left as it is. */
  cancelJob(jobId: string): Promise<void>;
  clock: Clock;
}

/** The workflow operations every door calls (through the gateway). */
export class WorkflowService {
  readonly #o: WorkflowServiceOptions;

  constructor(options: WorkflowServiceOptions) {
    this.#o = options;
  }

  /** Validates a workflow (seed 001's shape), stores it and hands it to a driver. */
  async submit(body: unknown, metadata?: Record<string, unknown>): Promise<WorkflowSubmitReply> {
    const record = await parseWorkflow(
      body,
      this.#o.checkJob,
      new Date(this.#o.clock.now()),
      metadata,
    );
    await this.#o.store.create(record);
    await this.#o.publishLease(record.workflow_id);
    this.#publish(record);
    return {
      workflow_id: record.workflow_id,
      status: record.status,
      total_steps: record.steps.length,
      message: "Workflow submitted successfully",
    };
  }

  /**
   * Seed 003's manifest (`POST /api/v1/tasks`) as a workflow; a problem names its path in the
   * manifest (`/spec/stages/1/model/type`).
   */
  async submitManifest(body: unknown): Promise<WorkflowSubmitReply> {
    const mapped = manifestWorkflow(body);
    try {
      return await this.submit(mapped.workflow, mapped.metadata);
    } catch (error) {
      if (!(error instanceof InvalidRequestError)) throw error;
      throw new InvalidRequestError("manifest", error.problems.map(mapped.pathOf));
    }
  }

  async get(body: unknown): Promise<WorkflowRecord> {
    const { workflow_id } = check(WorkflowIdQuerySchema, body, "workflow query");
    const record = await this.#o.store.get(workflow_id);
    if (!record) throw new WorkflowNotFoundError(workflow_id);
    return record;
  }

  async list(body: unknown): Promise<{ workflows: WorkflowRecord[]; next_cursor: string | null }> {
    const query = check(WorkflowListQuerySchema, body ?? {}, "workflow list query");
    return this.#o.store.list({ ...query, limit: query.limit ?? 50 });
  }

  /**
   * Cancels a workflow that has not ended: the record says CANCELLED at once, its running and
   * waiting step jobs are cancelled, its steps not yet submitted never will be; its driver is
   * told, and finishes the bookkeeping.
   */
  async cancel(body: unknown): Promise<WorkflowRecord> {
    const { workflow_id } = check(WorkflowIdQuerySchema, body, "workflow cancel request");
    let ended: string | undefined;
    const now = new Date(this.#o.clock.now()).toISOString();
    const record = await this.#o.store.update(workflow_id, (current) => {
      ended = isTerminalWorkflowState(current.status) ? current.status : undefined;
      if (ended) return undefined;
      return {
        ...current,
        status: "CANCELLED",
        error: "cancelled on request",
        finished_at: now,
        steps: current.steps.map((step) =>
          step.job_id || isTerminalStepState(step.status)
            ? step
            : { ...step, status: "CANCELLED", error: "the workflow was cancelled" },
        ),
      };
    });
    if (!record) throw new WorkflowNotFoundError(workflow_id);
    if (ended) throw new WorkflowEndedError(workflow_id, ended);
    const live = record.steps.filter((s) => s.job_id && !isTerminalStepState(s.status));
    await Promise.all(live.map((s) => this.#o.cancelJob(s.job_id as string)));
    this.#o.nudge(workflow_id);
    this.#publish(record);
    return record;
  }

  #publish(r: WorkflowRecord): void {
    this.#o.events.workflow({
      workflow_id: r.workflow_id,
      workflow_name: r.workflow_name,
      status: r.status,
      error: r.error,
      steps: r.steps.map((s) => ({ step_id: s.step_id, status: s.status, job_id: s.job_id })),
    });
  }
}

function check<S extends TSchema>(schema: S, body: unknown, what: string): Static<S> {
  const problems = schemaProblems(schema, body);
  if (problems.length > 0) throw new InvalidRequestError(what, problems);
  return body as Static<S>;
}
