import type { ActorContext, Behavior } from "../actors/behavior.ts";
import { recordEnd } from "../analytics/job-history.ts";
import type { JobArtifactsDeps } from "../artifacts/job-artifacts.ts";
import type { JobEvent, TaskEvent } from "../contract/events.ts";
import type { Faults } from "../faults.ts";
import type { Logger } from "../log.ts";
import type { PipelineEvents } from "../pipeline-events.ts";
import type { Admission } from "../queue/admission.ts";
import type { QueueBook } from "../queue/queue-book.ts";
import type { TrainingPool } from "../training/pool.ts";
import type { Lease } from "../transport/leases.ts";
import { isNatsUnavailable } from "../transport/nats-errors.ts";
import type { EventSink, TaskPorts } from "../transport/ports.ts";
import { decodeRecord } from "../workers/chunk-message.ts";
import type { ChunkSizer } from "./chunk-sizing.ts";
import { jobEventOf } from "./gateway.ts";
import { announceEnd, endingMetrics, finalRecord, purgeScratch, stopTasks } from "./job-ending.ts";
import { JobEnqueuing } from "./job-enqueuing.ts";
import { followJob } from "./job-followers.ts";
import type { JobPlacementDeps } from "./job-placement.ts";
import { JobQueueing } from "./job-queueing.ts";
import type { JobRecord } from "./job-record.ts";
import { isTerminalJobState, type JobState } from "./job-state.ts";
import type { JobStore } from "./job-store.ts";
import { JobTally, withCounts } from "./job-tally.ts";
import { JobTimers } from "./job-timers.ts";

export type JobMessage =
  /** Read the job and take it up (the first message of every incarnation). */
  | { kind: "start" }
  | { kind: "tick" }
  | { kind: "flush" }
  | { kind: "timeout" }
  /** Tasks changed state (one task event, or a chunk event's tasks). */
  | { kind: "task-events"; events: TaskEvent[] }
  /** A chunk's generation was recorded (its writer said so). */
  | { kind: "recorded"; chunk: number; generation: number; record?: Uint8Array | undefined }
  /** Read every record again (the line to NATS dropped: notifications may be lost). */
  | { kind: "reconcile" }
  /** Look at the record again (it was cancelled, or given dependencies, from outside). */
  | { kind: "nudge" }
  /** A job this one waits for announced its state. */
  | { kind: "dependency"; event: JobEvent };

export interface JobActorDeps extends Omit<TaskPorts, "jobs"> {
  store: JobStore;
  /** Aggregates the tasks' models at the end. */
  pool: Pick<TrainingPool, "aggregate">;
  events: EventSink;
  pipeline: PipelineEvents;
  faults: Faults;
  /** Tasks per chunk, for jobs whose record does not say yet. */
  sizer: ChunkSizer;
  /** The job's lease (AckWait, JOB_LEASE_HEARTBEATS of these) is renewed on every tick, this often. */
  tickMs: number;
  log: Logger;
  /** Called once the job has ended and its lease is released. */
  onEnded(jobId: string): void;
  /** Where a completed job's artifacts go; without it, the job's metrics alone are kept. */
  artifacts?: JobArtifactsDeps | undefined;
  /** This process's view of the queue book. */
  queueBook: QueueBook;
  /** Job-level quotas; undefined: none configured. */
  admission?: Admission | undefined;
  /** Placement by resources; undefined: every task in the default lanes, never unschedulable. */
  placement?: JobPlacementDeps | undefined;
}

/** Every this many ticks, records are re-read in case an announcement was missed. */
const RECONCILE_EVERY_TICKS = 10;
/** A lease whose job record is not there yet is looked at this many times, this far apart. */
const RECORD_LOOKS = 5;
const RECORD_LOOK_EVERY_MS = 200;
/** A job handed back during a NATS outage is offered again after this many ticks. */
const HAND_BACK_TICKS = 1;

/**
 * The job actor: one per live job, in the process holding the job's lease. It queues the job's
 * tasks once, follows them through task events (and, as a safety net, the results bucket), keeps
 * the job record current, enforces `timeout_s`, and at the end aggregates the models, cleans up
 * and releases the lease. All its state is rebuilt from the record and the result log as it
 * starts, so a restart — or another process taking the lease over — simply picks up where they are.
 */
export function jobActor(
  deps: JobActorDeps,
  jobId: string,
  lease: Lease,
): Behavior<JobMessage, void> {
  return (ctx) => new JobInstance(deps, jobId, lease, ctx);
}

class JobInstance {
  readonly #d: JobActorDeps;
  readonly #jobId: string;
  readonly #lease: Lease;
  readonly #ctx: ActorContext<JobMessage, void>;
  readonly #log: Logger;
  #record!: JobRecord;
  #tally!: JobTally;
  #ticks = 0;
  #ended = false;
  #dirty = false;
  readonly #timers: JobTimers;
  readonly #unsubscribes: (() => void)[] = [];
  readonly #queueing: JobQueueing;
  readonly #enqueuing: JobEnqueuing;

  constructor(
    deps: JobActorDeps,
    jobId: string,
    lease: Lease,
    ctx: ActorContext<JobMessage, void>,
  ) {
    this.#d = deps;
    this.#jobId = jobId;
    this.#lease = lease;
    this.#ctx = ctx;
    this.#log = deps.log.child({ jobId });
    this.#timers = new JobTimers(ctx.clock, deps.tickMs, (kind) => ctx.self.tell({ kind }));
    this.#queueing = new JobQueueing({
      index: deps.book,
      book: deps.queueBook,
      admission: deps.admission,
      clock: ctx.clock,
      log: this.#log,
    });
    const self = this;
    this.#enqueuing = new JobEnqueuing(
      deps,
      {
        jobId,
        get record() {
          return self.#record;
        },
        set record(record) {
          self.#record = record;
        },
        get tally() {
          return self.#tally;
        },
        get ended() {
          return self.#ended;
        },
        reconcile: () => this.#reconcile(),
        finalize: (status, error) => this.#finalize(status, error),
        tell: (message) => ctx.self.tell(message),
      },
      this.#queueing,
    );
  }

  /**
   * Starting reads the job from NATS, so it is the actor's first message rather than its
   * `preStart`: the jobs supervisor starts children one at a time, and a preStart that waits on
   * several round trips made every process take at most a few dozen jobs a second.
   */
  preStart(): void {
    this.#ctx.self.tell({ kind: "start" });
  }

  async #starting(): Promise<void> {
    try {
      await this.#start();
    } catch (error) {
      if (!isNatsUnavailable(error)) throw error;
      this.#handBack(error);
    }
  }

  async #start(): Promise<void> {
    const stored = await this.#d.store.get(this.#jobId);
    if (!stored) {
      // Submit writes the record and the lease together: the record may still be on its way.
      // Past a few looks it never will be (its write failed, and the submit said so).
      if (this.#lease.deliveryCount < RECORD_LOOKS) {
        this.#log.debug("job record not there yet; looking again");
        this.#lease.nak(RECORD_LOOK_EVERY_MS);
      } else {
        this.#log.warn("lease for a job without a record; dropping it");
        this.#lease.ack();
      }
      this.#end();
      return;
    }
    this.#record = stored.value;
    this.#tally = new JobTally(this.#record.total_tasks);
    if (isTerminalJobState(this.#record.status)) {
      await this.#releaseEnded();
      return;
    }
    this.#unsubscribes.push(
      followJob(this.#d, this.#jobId, (message) => this.#ctx.self.tell(message)),
    );
    if (this.#record.status === "PAUSED") await this.#queueing.paused(this.#record);
    else if (this.#record.tasks_enqueued) {
      await this.#queueing.retake(this.#record);
      await this.#reconcile();
    } else if (this.#record.spec.depends_on && !this.#record.resumes) {
      await this.#enqueuing.startWaiting();
    } else await this.#enqueuing.resumeOrEnqueue();
    this.#timers.nextTick();
    const seconds = this.#record.spec.timeout_s;
    if (seconds !== undefined)
      this.#timers.deadline(Date.parse(this.#record.created_at) + seconds * 1000);
  }

  async receive(message: JobMessage): Promise<void> {
    if (this.#ended) return;
    if (message.kind === "start") {
      await this.#starting();
      return;
    }
    try {
      await this.#handle(message);
    } catch (error) {
      if (!isNatsUnavailable(error)) throw error;
      if (this.#ended) {
        this.#handBack(error); // it was ending: whoever owns the job next finishes that
        return;
      }
      // Bookkeeping that did not reach NATS is redone: the record at the next reconcile tick,
      // missed outcomes by the reconcile itself. The actor, its watch and its lease live on.
      this.#dirty = true;
      this.#log.debug({ err: error, message: message.kind }, "NATS unavailable; retrying later");
    }
  }

  /**
   * NATS is down or not answering where the actor cannot carry on (starting, or ending the job):
   * hand the job back — its lease comes back after a while, here or elsewhere, and the job is
   * rehydrated from JetStream — rather than crash. With hundreds of live jobs, crashing each on
   * one NATS restart would exhaust the jobs supervisor's restart intensity and stop the whole
   * process; the outage is not the job actor's fault.
   */
  #handBack(error: unknown): void {
    this.#log.warn({ err: error }, "NATS unavailable; handing the job back");
    try {
      this.#lease.nak(this.#d.tickMs * HAND_BACK_TICKS);
    } catch {
      // The connection is closed for good: the lease expires by itself.
    }
    this.#end();
  }

  async #handle(message: JobMessage): Promise<void> {
    switch (message.kind) {
      case "tick":
        this.#lease.working();
        this.#ticks += 1;
        this.#timers.nextTick();
        if (this.#enqueuing.waiting) await this.#enqueuing.awaitDependencies(true);
        else if (this.#queueing.held) await this.#enqueuing.admitAndEnqueue(true);
        else await this.#enqueuing.checkPlacement(this.#ctx.clock.now());
        if (this.#ticks % RECONCILE_EVERY_TICKS === 0) {
          await this.#reconcile();
          if (this.#dirty) this.#markDirty();
        }
        return;
      case "flush":
        if (this.#dirty) await this.#flush();
        return;
      case "timeout":
        await this.#finalize(
          "TIMEOUT",
          `job exceeded timeout_s (${this.#record.spec.timeout_s} s)`,
        );
        return;
      case "nudge": {
        const stored = await this.#d.store.get(this.#jobId);
        if (stored && isTerminalJobState(stored.value.status)) {
          this.#record = stored.value;
          await this.#finalize(stored.value.status, stored.value.error);
        } else if (stored && this.#enqueuing.waiting) {
          this.#record = stored.value;
          await this.#enqueuing.awaitDependencies(true);
        } else if (stored) await this.#enqueuing.steer(stored.value);
        return;
      }
      case "dependency":
        await this.#enqueuing.heard(message.event);
        return;
      case "task-events":
        this.#d.faults.maybeCrash("job");
        for (const event of message.events) await this.#onTaskEvent(event);
        return;
      case "recorded":
        if (this.#tally.hasRecord(message.chunk, message.generation)) return;
        if (message.record) await this.#onRecord(message.chunk, message.record);
        else await this.#readRecord(message.chunk, message.generation);
        return;
      case "reconcile":
        await this.#reconcile();
        return;
    }
  }

  /** Stopping (the job ended, a restart, or the process draining) leaves the state in JetStream. */
  postStop(): void {
    for (const unsubscribe of this.#unsubscribes) unsubscribe();
    this.#enqueuing.close();
    void this.#queueing.release();
    this.#timers.cancel();
  }

  async #onTaskEvent(event: TaskEvent): Promise<void> {
    if (!this.#tally.onTaskState(event.task_index, event.status)) return;
    if (event.status === "RUNNING" && this.#record.status === "QUEUED") {
      await this.#markStarted(event.at);
    }
    this.#markDirty();
  }

  /** QUEUED → RUNNING, once: the first task started. */
  async #markStarted(at: string): Promise<void> {
    const updated = await this.#d.store.update(this.#jobId, (job) => {
      if (job.status !== "QUEUED") return undefined;
      // A task started: whatever made it unschedulable no longer holds.
      const { unschedulable: _, unschedulable_since: __, ...rest } = job;
      return { ...rest, status: "RUNNING", started_at: job.started_at ?? at };
    });
    if (updated?.status !== "RUNNING" || this.#record.status === "RUNNING") return;
    const { unschedulable: _, unschedulable_since: __, ...known } = this.#record;
    this.#record = { ...known, status: "RUNNING", started_at: updated.started_at };
    await this.#queueing.started(this.#record);
    this.#d.pipeline.emit({
      kind: "job_started",
      job_id: this.#jobId,
      model_type: this.#record.model_type,
    });
    this.#d.events.job(jobEventOf(this.#record));
  }

  /** Re-reads every chunk record of this job from the result log. */
  async #reconcile(): Promise<void> {
    for (const [chunk, generation] of await this.#d.results.recorded(this.#jobId)) {
      await this.#readRecord(chunk, generation);
      if (this.#ended) return;
    }
    await this.#checkEnd();
  }

  async #readRecord(chunk: number, generation: number): Promise<void> {
    if (this.#tally.hasRecord(chunk, generation)) return;
    const bytes = await this.#d.results.read(this.#jobId, chunk, generation);
    if (bytes) await this.#onRecord(chunk, bytes);
  }

  /** A chunk generation's record: its tasks' outcomes, and its failed attempts to be retried. */
  async #onRecord(chunk: number, bytes: Uint8Array): Promise<void> {
    const fresh = this.#tally.onRecord(chunk, decodeRecord(bytes));
    if (!fresh) return;
    this.#markDirty();
    const completed = fresh.filter(([, outcome]) => outcome.status === "COMPLETED");
    const trainedMs = completed.reduce((sum, [, outcome]) => sum + outcome.duration_ms, 0);
    this.#d.sizer.observe(this.#record.spec, completed.length, trainedMs);
    const failed = fresh.find(([, outcome]) => outcome.status === "FAILED");
    if (failed) {
      const [index, outcome] = failed;
      await this.#finalize(
        "FAILED",
        `task ${index} failed after ${outcome.attempt} attempt(s): ${outcome.error}`,
      );
      return;
    }
    await this.#checkEnd();
  }

  async #checkEnd(): Promise<void> {
    if (this.#ended || !this.#tally.complete) return;
    await this.#finalize("COMPLETED", null);
  }

  #markDirty(): void {
    this.#dirty = true;
    this.#timers.flushSoon();
  }

  async #flush(): Promise<void> {
    this.#dirty = false;
    const counts = this.#tally.counts(this.#record.metrics);
    const updated = await this.#d.store.update(this.#jobId, (job) =>
      isTerminalJobState(job.status) ? undefined : withCounts(job, counts),
    );
    // Ended from outside (cancel) since the last look: finish the bookkeeping.
    if (updated && isTerminalJobState(updated.status))
      await this.#finalize(updated.status, updated.error);
  }

  /**
   * Ends the job: the record gets its final state (unless something else ended it first), queued
   * tasks are purged, running ones aborted everywhere, per-task scratch state removed, and the
   * lease released.
   */
  async #finalize(status: JobState, error: string | null): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    if (status !== "COMPLETED") await stopTasks(this.#d, this.#jobId);
    const now = new Date(this.#ctx.clock.now()).toISOString();
    // Tasks can finish before the record ever said RUNNING: it passes through RUNNING, as it did.
    // (A record known to be RUNNING is not re-read to learn that again: states only move on.)
    if (status === "COMPLETED" && this.#record.status === "QUEUED") {
      await this.#markStarted(this.#record.started_at ?? now);
    }
    // Only an actor that followed every outcome has the models to aggregate (another owner of
    // the job may have completed it while this one was catching up).
    const complete = status === "COMPLETED" && this.#tally.complete;
    const metrics = complete
      ? await endingMetrics(this.#d, this.#record, this.#tally, this.#log)
      : undefined;
    const counts = this.#tally.counts(this.#record.metrics);
    const final = await this.#d.store.update(this.#jobId, (job) =>
      finalRecord(job, { status, error, at: now, counts }, metrics),
    );
    this.#record = final ?? this.#record;
    await purgeScratch(this.#d, this.#record, {
      followed: true,
      countsWritten: this.#tally.countsWritten,
    });
    this.#d.events.job(jobEventOf(this.#record));
    // Its quota slots free once it has said it ended; its summary joins the history.
    await Promise.all([
      this.#queueing.ended(this.#jobId),
      recordEnd(this.#d.history, this.#record, this.#tally.trainedSeconds()),
    ]);
    announceEnd(this.#d.pipeline, this.#log, this.#record, now);
    this.#lease.ack();
    this.#end();
  }

  /**
   * The lease of a job that has already ended — handed over late (an ack lost, a lease expired
   * during a failover) or cancelled while no process owned it: tidy up what may be left and let
   * go, leaving the record as whoever ended the job wrote it.
   */
  async #releaseEnded(): Promise<void> {
    this.#ended = true;
    if (this.#record.status !== "COMPLETED") await stopTasks(this.#d, this.#jobId);
    await Promise.all([
      this.#queueing.ended(this.#jobId),
      recordEnd(this.#d.history, this.#record, this.#tally.trainedSeconds()),
    ]);
    await purgeScratch(this.#d, this.#record, { followed: false, countsWritten: true });
    this.#lease.ack();
    this.#end();
  }

  #end(): void {
    this.#ended = true;
    this.#ctx.stop();
    this.#d.onEnded(this.#jobId);
  }
}
