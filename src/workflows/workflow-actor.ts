import type { ActorContext, Behavior } from "../actors/behavior.ts";
import type { JobEvent } from "../contract/events.ts";
import { TroupeError } from "../errors.ts";
import type { JobRecord } from "../jobs/job-record.ts";
import { JOB_STATES } from "../jobs/job-state.ts";
import type { Logger } from "../log.ts";
import type { Lease } from "../transport/leases.ts";
import { isNatsUnavailable } from "../transport/nats-errors.ts";
import type { JobEventFeed, WorkflowEventSink } from "../transport/ports.ts";
import { planWorkflow, type StepAction } from "./workflow-plan.ts";
import {
  isTerminalStepState,
  isTerminalWorkflowState,
  type StepRecord,
  type StepState,
  type WorkflowRecord,
} from "./workflow-record.ts";
import { stepJobBody } from "./workflow-spec.ts";
import type { WorkflowStore } from "./workflow-store.ts";

export type WorkflowMessage =
  | { kind: "start" }
  | { kind: "tick" }
  /** One of its step jobs announced a state. */
  | { kind: "job-event"; event: JobEvent }
  /** Look at the record again (it was cancelled). */
  | { kind: "nudge" }
  /** Write the steps' progress (coalesced). */
  | { kind: "flush" };

export interface WorkflowActorDeps {
  store: WorkflowStore;
  /** Reads step jobs' records (their states and metrics). */
  jobs: { get(jobId: string): Promise<{ value: JobRecord } | undefined> };
  jobEvents: JobEventFeed;
  /** The gateway's submit (idempotent by the body's idempotency_key). */
  submit(body: Record<string, unknown>): Promise<{ job_id: string; status: string }>;
  /** The gateway's cancel; a job that has already ended is left as it is. */
  cancelJob(jobId: string): Promise<void>;
  events: WorkflowEventSink;
  /** This process, written into the record as the workflow's driver. */
  driver: { worker_id: string; pid: number };
  /** The lease is renewed every tick; the step jobs are re-read every RECONCILE_EVERY_TICKS. */
  tickMs: number;
  log: Logger;
  onEnded(workflowId: string): void;
}

const RECONCILE_EVERY_TICKS = 2;
/** Steps' progress is written at most this often (ends at once). */
const FLUSH_MS = 100;
/** Step jobs submitted at once. */
const SUBMIT_CONCURRENCY = 16;
const RECORD_LOOKS = 5;
const RECORD_LOOK_EVERY_MS = 200;

/**
 * The workflow actor: one per live workflow, in the process holding the workflow's lease. It
 * submits each step's job through the gateway (idempotent by `<workflow_id>/<step_id>`, so an
 * actor taking over never submits a step twice), follows the step jobs' events (and re-reads
 * them every few ticks), decides skips and the end with the pure `planWorkflow`, and keeps the
 * record — its only state — current in KV. A restart or another process taking the lease over
 * simply reads the record and carries on.
 */
export function workflowActor(
  deps: WorkflowActorDeps,
  workflowId: string,
  lease: Lease,
): Behavior<WorkflowMessage, void> {
  return (ctx) => new WorkflowInstance(deps, workflowId, lease, ctx);
}

class WorkflowInstance {
  readonly #d: WorkflowActorDeps;
  readonly #id: string;
  readonly #lease: Lease;
  readonly #ctx: ActorContext<WorkflowMessage, void>;
  readonly #log: Logger;
  #record!: WorkflowRecord;
  #ended = false;
  #ticks = 0;
  #cancelTick: (() => void) | undefined;
  #cancelFlush: (() => void) | undefined;
  readonly #followed = new Map<string, () => void>();

  constructor(
    deps: WorkflowActorDeps,
    workflowId: string,
    lease: Lease,
    ctx: ActorContext<WorkflowMessage, void>,
  ) {
    this.#d = deps;
    this.#id = workflowId;
    this.#lease = lease;
    this.#ctx = ctx;
    this.#log = deps.log.child({ workflowId });
  }

  preStart(): void {
    this.#ctx.self.tell({ kind: "start" });
  }

  postStop(): void {
    this.#cancelTick?.();
    this.#cancelFlush?.();
    for (const unfollow of this.#followed.values()) unfollow();
  }

  async receive(message: WorkflowMessage): Promise<void> {
    if (this.#ended) return;
    try {
      await this.#handle(message);
    } catch (error) {
      if (!isNatsUnavailable(error)) throw error;
      // Not the workflow's fault: hand it back; whoever takes it next reads the record again.
      this.#log.warn({ err: error }, "NATS unavailable; handing the workflow back");
      try {
        this.#lease.nak(this.#d.tickMs);
      } catch {
        // The connection is closed for good: the lease expires by itself.
      }
      this.#end();
    }
  }

  async #handle(message: WorkflowMessage): Promise<void> {
    switch (message.kind) {
      case "start":
        await this.#start();
        return;
      case "tick":
        this.#lease.working();
        this.#ticks += 1;
        this.#scheduleTick();
        if (this.#ticks % RECONCILE_EVERY_TICKS === 0) await this.#reconcile();
        return;
      case "nudge":
        await this.#reconcile();
        return;
      case "job-event": {
        const step = this.#record.steps.find((s) => s.job_id === message.event.job_id);
        const status = JOB_STATES.find((state) => state === message.event.status);
        if (!step || !status || !this.#advances(step, status)) return;
        await this.#applyJob(step, status, message.event.error);
        // Progress (WAITING, QUEUED, RUNNING) is written at most every FLUSH_MS; an end at once.
        if (!isTerminalStepState(status)) {
          this.#flushSoon();
          return;
        }
        await this.#save();
        await this.#advance();
        return;
      }
      case "flush":
        this.#cancelFlush = undefined;
        await this.#save();
        return;
    }
  }

  async #start(): Promise<void> {
    const record = await this.#d.store.get(this.#id);
    if (!record) {
      // Submit writes the record before the lease; a record still missing after a few looks
      // never will be there.
      if (this.#lease.deliveryCount < RECORD_LOOKS) this.#lease.nak(RECORD_LOOK_EVERY_MS);
      else this.#lease.ack();
      this.#end();
      return;
    }
    this.#record = record;
    if (isTerminalWorkflowState(record.status)) {
      if (record.status === "CANCELLED") await this.#cancelSteps();
      this.#finish();
      return;
    }
    const driven = await this.#d.store.update(this.#id, (current) =>
      isTerminalWorkflowState(current.status) ? undefined : { ...current, driver: this.#d.driver },
    );
    if (driven) this.#record = driven;
    this.#log.info({ deliveries: this.#lease.deliveryCount }, "driving workflow");
    for (const step of this.#record.steps) if (step.job_id) this.#follow(step.job_id);
    this.#scheduleTick();
    await this.#reconcile();
  }

  /** Re-reads the record (a cancel) and every live step job, then moves on. */
  async #reconcile(): Promise<void> {
    const stored = await this.#d.store.get(this.#id);
    if (!stored) return;
    if (stored.status === "CANCELLED") {
      this.#record = stored;
      await this.#cancelSteps();
      this.#finish();
      return;
    }
    const live = this.#record.steps.filter((s) => s.job_id && !isTerminalStepState(s.status));
    const jobs = await Promise.all(live.map((s) => this.#d.jobs.get(s.job_id as string)));
    let changed = false;
    for (const [i, step] of live.entries()) {
      const job = jobs[i]?.value;
      if (job && this.#advances(step, job.status)) {
        await this.#applyJob(step, job.status, job.error, job);
        changed = true;
      }
    }
    if (changed) await this.#save();
    await this.#advance();
  }

  /** Applies plans until one has nothing to do; ends the workflow when a plan says so. */
  async #advance(): Promise<void> {
    for (;;) {
      if (this.#ended) return;
      const plan = planWorkflow(this.#record.steps);
      const submits = plan.actions.filter((a) => a.kind === "submit");
      for (const action of plan.actions) {
        if (action.kind !== "submit") this.#decide(action);
      }
      await this.#submitAll(submits.map((a) => a.step_id));
      if (plan.actions.length > 0) await this.#save();
      if (this.#record.status === "CANCELLED") {
        await this.#cancelSteps();
        this.#finish();
        return;
      }
      if (plan.outcome && submits.length === 0) {
        await this.#conclude(plan.outcome.status, plan.outcome.error);
        return;
      }
      if (plan.actions.length === 0) return;
    }
  }

  #decide(action: Exclude<StepAction, { kind: "submit" }>): void {
    const step = this.#step(action.step_id);
    step.status = action.kind === "skip" ? "SKIPPED" : "CANCELLED";
    step.error = action.reason;
  }

  async #submitAll(stepIds: string[]): Promise<void> {
    const jobIds = new Map(
      this.#record.steps.filter((s) => s.job_id).map((s) => [s.step_id, s.job_id as string]),
    );
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < stepIds.length; i = next++) {
        await this.#submit(this.#step(stepIds[i] as string), jobIds);
      }
    };
    await Promise.all(Array.from({ length: Math.min(SUBMIT_CONCURRENCY, stepIds.length) }, worker));
  }

  async #submit(step: StepRecord, jobIds: ReadonlyMap<string, string>): Promise<void> {
    let reply: { job_id: string; status: string };
    try {
      reply = await this.#d.submit(stepJobBody(this.#record, step, jobIds));
    } catch (error) {
      // Refused (a template deleted since, a model gone): the step fails, saying why.
      if (!(error instanceof TroupeError) || error.statusCode >= 500) throw error;
      step.status = "FAILED";
      step.error = `its job was refused: ${error.message}`;
      return;
    }
    step.job_id = reply.job_id;
    step.status = "SUBMITTED";
    this.#follow(reply.job_id);
    // It may have moved on (or ended: submitted before a takeover) before the subscription.
    const job = (await this.#d.jobs.get(reply.job_id))?.value;
    if (job && this.#advances(step, job.status))
      await this.#applyJob(step, job.status, job.error, job);
  }

  /** A job state is news for its step unless the step has ended already. */
  #advances(step: StepRecord, status: StepState): boolean {
    return !isTerminalStepState(step.status) && step.status !== status;
  }

  async #applyJob(
    step: StepRecord,
    status: StepState,
    error: string | null | undefined,
    job?: JobRecord,
  ): Promise<void> {
    step.status = status;
    if (status === "COMPLETED") {
      const metrics = (job ?? (await this.#d.jobs.get(step.job_id as string))?.value)?.metrics;
      step.metrics = metrics ? { ...metrics } : null;
    } else if (isTerminalStepState(status)) {
      step.error = error ?? null;
    }
  }

  /** Cancels the step jobs still live and marks every step not ended CANCELLED. */
  async #cancelSteps(): Promise<void> {
    for (const step of this.#record.steps) {
      if (isTerminalStepState(step.status)) continue;
      if (step.job_id) await this.#d.cancelJob(step.job_id);
      step.status = "CANCELLED";
      step.error ??= "the workflow was cancelled";
    }
    await this.#save();
  }

  /**
   * Writes the steps as this actor knows them; the workflow's state as it knows it unless the
   * record has ended meanwhile (a cancel), which is then taken in.
   */
  async #save(): Promise<void> {
    const mine = this.#record;
    const saved = await this.#d.store.update(this.#id, (current) => {
      const ended = isTerminalWorkflowState(current.status);
      const steps = mine.steps.map((step, i) => {
        const theirs = current.steps[i];
        return theirs && isTerminalStepState(theirs.status) && !isTerminalStepState(step.status)
          ? { ...theirs, job_id: step.job_id ?? theirs.job_id }
          : step;
      });
      return ended ? { ...current, steps } : { ...mine, steps };
    });
    if (!saved) return;
    this.#record = saved;
    this.#publish();
  }

  async #conclude(status: "COMPLETED" | "FAILED", error: string | null): Promise<void> {
    this.#record = {
      ...this.#record,
      status,
      error,
      finished_at: new Date(this.#ctx.clock.now()).toISOString(),
    };
    await this.#save();
    this.#log.info({ status: this.#record.status, error: this.#record.error }, "workflow ended");
    this.#finish();
  }

  #publish(): void {
    const r = this.#record;
    this.#d.events.workflow({
      workflow_id: r.workflow_id,
      workflow_name: r.workflow_name,
      status: r.status,
      error: r.error,
      steps: r.steps.map((s) => ({ step_id: s.step_id, status: s.status, job_id: s.job_id })),
    });
  }

  #follow(jobId: string): void {
    if (this.#followed.has(jobId)) return;
    this.#followed.set(
      jobId,
      this.#d.jobEvents.follow(jobId, (event) => this.#ctx.self.tell({ kind: "job-event", event })),
    );
  }

  #flushSoon(): void {
    this.#cancelFlush ??= this.#ctx.clock.schedule(
      () => this.#ctx.self.tell({ kind: "flush" }),
      FLUSH_MS,
    );
  }

  #step(stepId: string): StepRecord {
    return this.#record.steps.find((s) => s.step_id === stepId) as StepRecord;
  }

  #scheduleTick(): void {
    this.#cancelTick = this.#ctx.clock.schedule(
      () => this.#ctx.self.tell({ kind: "tick" }),
      this.#d.tickMs,
    );
  }

  /** Ended: release the lease for good. */
  #finish(): void {
    this.#lease.ack();
    this.#end();
  }

  #end(): void {
    this.#ended = true;
    this.#ctx.stop();
    this.#d.onEnded(this.#id);
  }
}
