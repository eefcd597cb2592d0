/**
 * The small interfaces the domain (job actors, chunk runners, the gateway) keeps its state and
 * work behind. `nats-ports.ts` implements them on JetStream; tests may hand in in-memory ones
 * (test/support/memory-ports.ts) to decide job and worker logic on a simulated clock.
 */
import type { ChunkEvent, JobEvent, TaskEvent, WorkflowEvent } from "../contract/events.ts";
import type { Priority } from "../contract/priorities.ts";
import type { ResourceClass } from "../contract/resources.ts";

export interface BucketEntry {
  value: Uint8Array;
  /** The compare-and-set token of `update`. */
  revision: number;
}

/** Values by key, each change compare-and-set where it must be. */
export interface Bucket {
  /** The value, or undefined when the key has none (never written, or deleted). */
  get(key: string): Promise<BucketEntry | undefined>;
  /**
   * Stores `value` unless `key` has one already. Resolves with the new revision, or undefined
   * when another writer was first.
   */
  create(key: string, value: Uint8Array): Promise<number | undefined>;
  put(key: string, value: Uint8Array): Promise<void>;
  /** Stores `value` if `revision` is still the key's latest: the new revision, else undefined. */
  update(key: string, value: Uint8Array, revision: number): Promise<number | undefined>;
  /** Keys matching a pattern (`job_1.>`, `>`); deleted ones may be listed (their `get` says). */
  keys(pattern?: string): Promise<string[]>;
  /** Removes every key matching the pattern. */
  purge(pattern: string): Promise<void>;
}

/** One queued message of a job: a chunk of its tasks. `id` makes a second enqueue a no-op. */
export interface QueuedChunk {
  id: string;
  data: Uint8Array;
}

/** The work queue the job actors fill and the dispatchers pull from, one lane per priority. */
export interface TaskQueue {
  /**
   * Queues a job's chunks on its priority lane, durably, before resolving: the default lane, or
   * the lane of its resource class (`laneClass`, registered first through `ClassLanes`).
   */
  enqueue(
    priority: Priority,
    jobId: string,
    chunks: readonly QueuedChunk[],
    laneClass?: string,
  ): Promise<void>;
  /** Drops every queued chunk of the job (cancelled, failed, timed out). */
  purge(jobId: string): Promise<void>;
  /**
   * Tells idle dispatchers everywhere that work was queued (on `lane`, of `laneClass` if given;
   * every lane if none).
   */
  ring(lane?: Priority, laneClass?: string): void;
  /**
   * Moves the job's chunks that no worker has pulled yet from lane `from` to the back of lane
   * `to` (the same lane: to its back). Each is copied before its original is deleted: a crash in
   * between leaves a duplicate (recorded once), never a loss. Resolves how many moved.
   */
  move(jobId: string, from: Priority, to: Priority): Promise<number>;
  /** Chunk messages in each lane (pulled and unacknowledged ones included), by job id. */
  backlog(): Promise<Record<Priority, Map<string, number>>>;
}

/** Resource classes (placement): each one's lanes made once, and every process told of it. */
export interface ClassLanes {
  /** Makes the class's lanes (a consumer per priority) and records it; idempotent, cached. */
  register(key: string, resourceClass: ResourceClass): Promise<void>;
  /**
   * Calls `onClass` with every class recorded now, then with each new one; the returned
   * function stops.
   */
  follow(onClass: (key: string, resourceClass: ResourceClass) => void): () => void;
}

/** The worker records (msgpack, workers/worker-record.ts), followed as they change. */
export interface WorkerIndex {
  /**
   * Calls `onChange` with every record there now, then with every change (undefined: removed);
   * `onReset` first when the view starts over. The returned function stops.
   */
  follow(
    onChange: (workerId: string, record: Uint8Array | undefined) => void,
    onReset: () => void,
  ): () => void;
}

/** A job as the queue book keeps it: one small entry per job from queued until it ends. */
export interface QueueEntry {
  job_id: string;
  priority: Priority;
  user_id: string;
  service: string;
  status: "QUEUED" | "RUNNING" | "PAUSED";
  total_tasks: number;
  chunk_size: number;
  /** Place within its priority: smaller goes first (ms of when it was queued, or set by a reorder). */
  order: number;
  /** Why it waits without its tasks in a lane: the quota it is over. */
  held?: "max_concurrent_jobs" | "service_quota" | undefined;
}

/** The queue book: every live job's entry, shared by all processes (a KV bucket). */
export interface QueueIndex {
  put(entry: QueueEntry): Promise<void>;
  remove(jobId: string): Promise<void>;
  /**
   * Drops what is left of entries removed before `before` (ms): a removal stays as a marker for
   * followers to hear, and would otherwise be kept, and replayed to every new follower, forever.
   * Resolves with how many were dropped.
   */
  forgetRemoved(before: number): Promise<number>;
  /**
   * Calls `onChange` with every entry there now, then with every change (undefined: removed);
   * `onReset` first when the view starts over (a new watch after the line dropped).
   */
  follow(
    onChange: (jobId: string, entry: QueueEntry | undefined) => void,
    onReset: () => void,
  ): () => void;
}

/**
 * Each chunk generation's record, written once (the writer whose create wins acts on the chunk),
 * and a job's follower told of each as it is written.
 */
export interface ResultLog {
  /** Writes a generation's record unless one stands: false then. */
  create(jobId: string, chunk: number, generation: number, record: Uint8Array): Promise<boolean>;
  read(jobId: string, chunk: number, generation: number): Promise<Uint8Array | undefined>;
  /** Every `[chunk, generation]` recorded for the job. */
  recorded(jobId: string): Promise<[number, number][]>;
  /**
   * Tells the job's follower that a generation is recorded (fire and forget), with the record
   * itself when it is small enough to travel along (the follower then need not read it).
   */
  announce(jobId: string, chunk: number, generation: number, record?: Uint8Array): void;
  /**
   * Calls `onRecorded` for each announcement of the job's records, and `onGap` when some may
   * have been missed (the line was down): the follower then reads `recorded` again.
   */
  follow(
    jobId: string,
    onRecorded: (chunk: number, generation: number, record?: Uint8Array) => void,
    onGap: () => void,
  ): () => void;
}

/** Signals between a job's owner and the processes running its tasks. */
export interface JobSignals {
  /** Aborts the job's running tasks everywhere; they skip its chunks still to be pulled. */
  abort(jobId: string): void;
  /** Calls `onAbort` with every job aborted anywhere; the returned function stops. */
  onAbort(onAbort: (jobId: string) => void): () => void;
  /** Stops the job's running tasks everywhere (checkpointed, handed back), for a pause. */
  pause(jobId: string): void;
  onPause(onPause: (jobId: string) => void): () => void;
}

/** The durable history of ended jobs: one summary each, kept for the retention period. */
export interface HistoryLog {
  /** Appends an ended job's summary; its job id de-duplicates a second append. */
  append(jobId: string, summary: Uint8Array): Promise<void>;
  /**
   * Calls `onEntry` with every summary kept, oldest first, then with each new one; `onReady` once
   * those kept have all been told (and again after a gap). The returned function stops.
   */
  follow(onEntry: (summary: Uint8Array) => void, onReady: () => void): () => void;
}

/** A job's task state changes (chunk events already split into their tasks), as they happen. */
export interface TaskEventFeed {
  follow(jobId: string, onEvents: (events: TaskEvent[]) => void): () => void;
}

/** Jobs' state changes as they are announced (`troupe.events.job.<id>`); may miss some. */
export interface JobEventFeed {
  follow(jobId: string, onEvent: (event: JobEvent) => void): () => void;
}

/** Where the task path tells what happens (fire and forget: a live view, not state). */
export interface EventSink {
  job(event: Omit<JobEvent, "type" | "at">): void;
  task(event: Omit<TaskEvent, "type" | "at">): void;
  chunk(event: Omit<ChunkEvent, "type" | "at">): void;
}

/** Where a workflow's driver tells what happens (fire and forget). */
export interface WorkflowEventSink {
  workflow(event: Omit<WorkflowEvent, "type" | "at">): void;
}

/** What workflows and templates keep their state in. */
export interface WorkflowPorts {
  workflows: Bucket;
  templates: Bucket;
}

/** Every port of the task path. */
export interface TaskPorts {
  jobs: Bucket;
  queue: TaskQueue;
  results: ResultLog;
  checkpoints: Bucket;
  /** Delivery counts of chunks (failures, hand-backs). */
  counts: Bucket;
  signals: JobSignals;
  taskEvents: TaskEventFeed;
  /** Other jobs' state changes (what a job waits for, what a workflow follows). */
  jobEvents: JobEventFeed;
  book: QueueIndex;
  history: HistoryLog;
  classes: ClassLanes;
}

/** A stored object, as a BlobStore describes it. */
export interface BlobInfo {
  name: string;
  size: number;
  /** SHA-256 of the content, lower-case hex. */
  sha256: string;
  /** When it was written (ISO 8601). */
  modified: string;
}

/** Named objects too large for a bucket value, streamed in and out in bounded chunks. */
export interface BlobStore {
  /**
   * Stores what `source` yields under `name` (replacing a previous object only once complete). A
   * source that throws leaves nothing behind, and `put` rejects with what it threw.
   */
  put(name: string, source: AsyncIterable<Uint8Array>): Promise<BlobInfo>;
  /** The object's content, a chunk at a time; undefined when there is none. */
  get(name: string): Promise<{ info: BlobInfo; data: AsyncIterable<Uint8Array> } | undefined>;
  info(name: string): Promise<BlobInfo | undefined>;
  /**
   * Stores `bytes` under `name` unless an object of that name exists (false then, nothing
   * changed): for what is written once, such as a job's artifacts. Reads nothing first.
   */
  create(name: string, bytes: Uint8Array): Promise<boolean>;
  /** Objects whose names start with `prefix` (every object without one). */
  list(prefix?: string): Promise<BlobInfo[]>;
  /** False when there was no such object. */
  delete(name: string): Promise<boolean>;
}
