/**
 * In-memory implementations of the transport ports (src/transport/ports.ts), for unit tests of
 * job and worker decisions on a simulated clock. The same behaviour is tested against a real
 * nats-server elsewhere; these only stand in where a test decides logic, not transport.
 */
import type { ChunkEvent, JobEvent, TaskEvent } from "../../src/contract/events.ts";
import { taskEventsOf } from "../../src/contract/events.ts";
import type { Priority } from "../../src/contract/priorities.ts";
import type { ResourceClass } from "../../src/contract/resources.ts";
import type { Delivery } from "../../src/transport/lane-pull.ts";
import type {
  Bucket,
  BucketEntry,
  ClassLanes,
  EventSink,
  HistoryLog,
  JobEventFeed,
  JobSignals,
  QueuedChunk,
  QueueEntry,
  QueueIndex,
  ResultLog,
  TaskEventFeed,
  TaskPorts,
  TaskQueue,
} from "../../src/transport/ports.ts";

/** NATS subject-style match: `*` one token, `>` the rest. */
function matches(pattern: string, key: string): boolean {
  const want = pattern.split(".");
  const have = key.split(".");
  for (let i = 0; i < want.length; i++) {
    if (want[i] === ">") return have.length > i;
    if (i >= have.length || (want[i] !== "*" && want[i] !== have[i])) return false;
  }
  return want.length === have.length;
}

let revisions = 0;

export class MemoryBucket implements Bucket {
  readonly entries = new Map<string, BucketEntry>();
  /** Writes (create, put, update) that stored a value. */
  writes = 0;
  reads = 0;

  async get(key: string): Promise<BucketEntry | undefined> {
    this.reads += 1;
    return this.entries.get(key);
  }

  async create(key: string, value: Uint8Array): Promise<number | undefined> {
    if (this.entries.has(key)) return undefined;
    return this.#store(key, value);
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    this.#store(key, value);
  }

  async update(key: string, value: Uint8Array, revision: number): Promise<number | undefined> {
    if (this.entries.get(key)?.revision !== revision) return undefined;
    return this.#store(key, value);
  }

  async keys(pattern = ">"): Promise<string[]> {
    return [...this.entries.keys()].filter((key) => matches(pattern, key));
  }

  async purge(pattern: string): Promise<void> {
    for (const key of await this.keys(pattern)) this.entries.delete(key);
  }

  #store(key: string, value: Uint8Array): number {
    this.writes += 1;
    const revision = ++revisions;
    this.entries.set(key, { value, revision });
    return revision;
  }
}

interface Queued {
  jobId: string;
  chunk: QueuedChunk;
  deliveries: number;
}

/**
 * Lanes of queued chunks; `pull` hands out deliveries whose nak puts the chunk back (after its
 * delay, on the given clock's schedule) and whose ack drops it.
 */
export class MemoryTaskQueue implements TaskQueue {
  readonly lanes: Record<Priority, Queued[]> = { urgent: [], high: [], normal: [], low: [] };
  readonly #ids = new Set<string>();
  rings = 0;
  readonly purged: string[] = [];
  readonly #schedule: (fn: () => void, ms: number) => void;

  constructor(schedule: (fn: () => void, ms: number) => void) {
    this.#schedule = schedule;
  }

  async enqueue(priority: Priority, jobId: string, chunks: readonly QueuedChunk[]): Promise<void> {
    for (const chunk of chunks) {
      if (this.#ids.has(chunk.id)) continue;
      this.#ids.add(chunk.id);
      this.lanes[priority].push({ jobId, chunk, deliveries: 0 });
    }
  }

  async purge(jobId: string): Promise<void> {
    this.purged.push(jobId);
    for (const lane of Object.values(this.lanes)) {
      lane.splice(0, lane.length, ...lane.filter((queued) => queued.jobId !== jobId));
    }
  }

  ring(_lane?: Priority): void {
    this.rings += 1;
  }

  async move(jobId: string, from: Priority, to: Priority): Promise<number> {
    const moving = this.lanes[from].filter(
      (queued) => queued.jobId === jobId && queued.deliveries === 0,
    );
    this.lanes[from] = this.lanes[from].filter((queued) => !moving.includes(queued));
    this.lanes[to].push(...moving);
    return moving.length;
  }

  async backlog(): Promise<Record<Priority, Map<string, number>>> {
    const count = (lane: Queued[]) => {
      const byJob = new Map<string, number>();
      for (const { jobId } of lane) byJob.set(jobId, (byJob.get(jobId) ?? 0) + 1);
      return byJob;
    };
    return {
      urgent: count(this.lanes.urgent),
      high: count(this.lanes.high),
      normal: count(this.lanes.normal),
      low: count(this.lanes.low),
    };
  }

  /** Chunks waiting in all lanes. */
  get size(): number {
    return Object.values(this.lanes).reduce((sum, lane) => sum + lane.length, 0);
  }

  /** The next delivery of `priority`'s lane, if any. */
  pull(priority: Priority): MemoryDelivery | undefined {
    const queued = this.lanes[priority].shift();
    if (!queued) return undefined;
    queued.deliveries += 1;
    const requeue = () => this.lanes[priority].push(queued);
    return new MemoryDelivery(queued, (delayMs) =>
      delayMs > 0 ? this.#schedule(requeue, delayMs) : requeue(),
    );
  }
}

export class MemoryDelivery implements Delivery {
  readonly subject = "memory";
  readonly consumer = "memory";
  readonly streamSequence = 0;
  readonly deliveryCount: number;
  readonly data: Uint8Array;
  /** How it was settled: "ack", "nak <delay>", or undefined while held. */
  settled: string | undefined;
  readonly #requeue: (delayMs: number) => void;

  constructor(queued: Queued, requeue: (delayMs: number) => void) {
    this.deliveryCount = queued.deliveries;
    this.data = queued.chunk.data;
    this.#requeue = requeue;
  }

  ack(): void {
    this.settled ??= "ack";
  }

  nak(delayMs = 0): void {
    if (this.settled) return;
    this.settled = `nak ${delayMs}`;
    this.#requeue(delayMs);
  }

  working(): void {}

  term(): void {
    this.settled ??= "term";
  }
}

type Follower = {
  onRecorded: (chunk: number, generation: number, record?: Uint8Array) => void;
  onGap: () => void;
};

export class MemoryResultLog implements ResultLog {
  readonly bucket = new MemoryBucket();
  readonly #followers = new Map<string, Set<Follower>>();
  /** While true, announcements are lost (a line that dropped them). */
  deaf = false;

  async create(jobId: string, chunk: number, generation: number, record: Uint8Array) {
    return (await this.bucket.create(`${jobId}.${chunk}.${generation}`, record)) !== undefined;
  }

  async read(jobId: string, chunk: number, generation: number) {
    return (await this.bucket.get(`${jobId}.${chunk}.${generation}`))?.value;
  }

  async recorded(jobId: string): Promise<[number, number][]> {
    return (await this.bucket.keys(`${jobId}.>`)).map((key) => {
      const [, chunk, generation] = key.split(".").map(Number);
      return [chunk ?? 0, generation ?? 0];
    });
  }

  announce(jobId: string, chunk: number, generation: number, record?: Uint8Array): void {
    if (this.deaf) return;
    for (const follower of this.#followers.get(jobId) ?? []) {
      follower.onRecorded(chunk, generation, record);
    }
  }

  follow(jobId: string, onRecorded: Follower["onRecorded"], onGap: () => void): () => void {
    const follower = { onRecorded, onGap };
    const set = this.#followers.get(jobId) ?? new Set();
    set.add(follower);
    this.#followers.set(jobId, set);
    return () => set.delete(follower);
  }

  /** The line came back: every follower hears of the gap. */
  gap(): void {
    for (const set of this.#followers.values()) for (const follower of set) follower.onGap();
  }
}

export class MemorySignals implements JobSignals {
  readonly aborted: string[] = [];
  readonly #listeners = new Set<(jobId: string) => void>();

  abort(jobId: string): void {
    this.aborted.push(jobId);
    for (const listener of this.#listeners) listener(jobId);
  }

  onAbort(onAbort: (jobId: string) => void): () => void {
    this.#listeners.add(onAbort);
    return () => this.#listeners.delete(onAbort);
  }

  readonly paused: string[] = [];
  readonly #pauseListeners = new Set<(jobId: string) => void>();

  pause(jobId: string): void {
    this.paused.push(jobId);
    for (const listener of this.#pauseListeners) listener(jobId);
  }

  onPause(onPause: (jobId: string) => void): () => void {
    this.#pauseListeners.add(onPause);
    return () => this.#pauseListeners.delete(onPause);
  }
}

/** Keeps every event; followers of a job hear its task and chunk events as task events. */
export class MemoryEvents implements EventSink, TaskEventFeed {
  readonly jobs: Omit<JobEvent, "type" | "at">[] = [];
  readonly tasks: Omit<TaskEvent, "type" | "at">[] = [];
  readonly chunks: Omit<ChunkEvent, "type" | "at">[] = [];
  readonly #followers = new Map<string, Set<(events: TaskEvent[]) => void>>();
  readonly #jobFollowers = new Map<string, Set<(event: JobEvent) => void>>();
  /** Job events as a JobEventFeed (the job events published here). */
  readonly jobFeed: JobEventFeed = {
    follow: (jobId, onEvent) => {
      const set = this.#jobFollowers.get(jobId) ?? new Set();
      set.add(onEvent);
      this.#jobFollowers.set(jobId, set);
      return () => set.delete(onEvent);
    },
  };

  job(event: Omit<JobEvent, "type" | "at">): void {
    this.jobs.push(event);
    const full: JobEvent = { type: "job", ...event, at: new Date().toISOString() };
    for (const follower of this.#jobFollowers.get(event.job_id) ?? []) follower(full);
  }

  task(event: Omit<TaskEvent, "type" | "at">): void {
    this.tasks.push(event);
    this.#tell(event.job_id, [{ type: "task", ...event, at: new Date().toISOString() }]);
  }

  chunk(event: Omit<ChunkEvent, "type" | "at">): void {
    this.chunks.push(event);
    const full: ChunkEvent = { type: "chunk", ...event, at: new Date().toISOString() };
    this.#tell(event.job_id, taskEventsOf(full));
  }

  follow(jobId: string, onEvents: (events: TaskEvent[]) => void): () => void {
    const set = this.#followers.get(jobId) ?? new Set();
    set.add(onEvents);
    this.#followers.set(jobId, set);
    return () => set.delete(onEvents);
  }

  #tell(jobId: string, events: TaskEvent[]): void {
    for (const follower of this.#followers.get(jobId) ?? []) follower(events);
  }
}

/** The history in memory: every append once per job id. */
export class MemoryHistory implements HistoryLog {
  readonly entries = new Map<string, Uint8Array>();
  readonly #followers = new Set<(summary: Uint8Array) => void>();

  async append(jobId: string, summary: Uint8Array): Promise<void> {
    if (this.entries.has(jobId)) return;
    this.entries.set(jobId, summary);
    for (const follower of this.#followers) follower(summary);
  }

  follow(onEntry: (summary: Uint8Array) => void, onReady: () => void) {
    for (const summary of this.entries.values()) onEntry(summary);
    onReady();
    this.#followers.add(onEntry);
    return () => this.#followers.delete(onEntry);
  }
}

/** The queue book in memory: followers hear every change at once. */
export class MemoryQueueIndex implements QueueIndex {
  readonly entries = new Map<string, QueueEntry>();
  readonly #followers = new Set<(jobId: string, entry: QueueEntry | undefined) => void>();

  async put(entry: QueueEntry): Promise<void> {
    this.entries.set(entry.job_id, entry);
    for (const follower of this.#followers) follower(entry.job_id, entry);
  }

  async remove(jobId: string): Promise<void> {
    this.entries.delete(jobId);
    for (const follower of this.#followers) follower(jobId, undefined);
  }

  /** A removal leaves nothing behind here. */
  async forgetRemoved(): Promise<number> {
    return 0;
  }

  follow(onChange: (jobId: string, entry: QueueEntry | undefined) => void, onReset: () => void) {
    onReset();
    for (const [jobId, entry] of this.entries) onChange(jobId, entry);
    this.#followers.add(onChange);
    return () => this.#followers.delete(onChange);
  }
}

/** Resource classes in memory: registered ones are told to every follower. */
export class MemoryClassLanes implements ClassLanes {
  readonly classes = new Map<string, ResourceClass>();
  readonly #followers = new Set<(key: string, resourceClass: ResourceClass) => void>();

  async register(key: string, resourceClass: ResourceClass): Promise<void> {
    if (this.classes.has(key)) return;
    this.classes.set(key, resourceClass);
    for (const follower of this.#followers) follower(key, resourceClass);
  }

  follow(onClass: (key: string, resourceClass: ResourceClass) => void) {
    for (const [key, resourceClass] of this.classes) onClass(key, resourceClass);
    this.#followers.add(onClass);
    return () => this.#followers.delete(onClass);
  }
}

/** Every port of the task path, in memory. */
export function memoryPorts(schedule: (fn: () => void, ms: number) => void) {
  const events = new MemoryEvents();
  const ports = {
    jobs: new MemoryBucket(),
    queue: new MemoryTaskQueue(schedule),
    results: new MemoryResultLog(),
    checkpoints: new MemoryBucket(),
    counts: new MemoryBucket(),
    signals: new MemorySignals(),
    taskEvents: events,
    jobEvents: events.jobFeed,
    book: new MemoryQueueIndex(),
    history: new MemoryHistory(),
    classes: new MemoryClassLanes(),
  } satisfies TaskPorts;
  return { ...ports, events };
}
