import type { ChunkEvent, JobEvent, TaskEvent } from "../contract/events.ts";
import { taskEventsOf } from "../contract/events.ts";
import type { Priority } from "../contract/priorities.ts";
import type { NatsConnection } from "./connection.ts";
import { onConnectionChange } from "./disconnects.ts";
import { isWrongRevision, type KV, type KvWriter, kvKeys, kvStream, kvSubject } from "./kv.ts";
import { natsHistory } from "./nats-history.ts";
import { natsClassLanes } from "./nats-placement.ts";
import { natsQueueControl, natsQueueIndex } from "./nats-queue.ts";
import type {
  Bucket,
  BucketEntry,
  JobEventFeed,
  JobSignals,
  QueuedChunk,
  ResultLog,
  TaskEventFeed,
  TaskPorts,
  TaskQueue,
  WorkflowPorts,
} from "./ports.ts";
import type { Topology } from "./streams.ts";
import type { Names } from "./subjects.ts";

const encoder = new TextEncoder();

/** Chunk messages in flight at once while queueing a job. */
const PUBLISH_WINDOW = 256;
/** A record larger than this is announced without it (the follower reads it from the bucket). */
const ANNOUNCED_RECORD_BYTES = 256 * 1024;
/** One decoder for every event (not one per message). */
const decoder = new TextDecoder();

/** A KV bucket as a Bucket; writes through `writer` (the lean publisher) when given. */
export function natsBucket(topology: Topology, name: string, kv: KV, writer?: KvWriter): Bucket {
  return {
    async get(key): Promise<BucketEntry | undefined> {
      const entry = await kv.get(key);
      return entry?.operation === "PUT"
        ? { value: entry.value, revision: entry.revision }
        : undefined;
    },
    async create(key, value) {
      try {
        return writer ? (await writer.create(key, value)).seq : await kv.create(key, value);
      } catch (error) {
        if (isWrongRevision(error)) return undefined;
        throw error;
      }
    },
    async put(key, value) {
      if (writer) await writer.put(key, value);
      else await kv.put(key, value);
    },
    async update(key, value, revision) {
      try {
        return writer
          ? (await writer.update(key, value, revision)).seq
          : await kv.update(key, value, revision);
      } catch (error) {
        if (isWrongRevision(error)) return undefined;
        throw error;
      }
    },
    keys: (pattern = ">") => kvKeys(topology.jsm, name, pattern),
    async purge(pattern) {
      await topology.jsm.streams.purge(kvStream(name), { filter: kvSubject(name, pattern) });
    },
  };
}

/** The tasks stream's priority lanes as the task queue. */
export function natsTaskQueue(nc: NatsConnection, names: Names, topology: Topology): TaskQueue {
  return {
    async enqueue(
      priority: Priority,
      jobId: string,
      chunks: readonly QueuedChunk[],
      laneClass?: string,
    ) {
      const subject =
        laneClass === undefined
          ? names.internal.task(priority, jobId)
          : names.internal.classTask(priority, laneClass, jobId);
      for (let start = 0; start < chunks.length; start += PUBLISH_WINDOW) {
        await Promise.all(
          chunks
            .slice(start, start + PUBLISH_WINDOW)
            .map((chunk) => topology.publisher.publish(subject, chunk.data, { msgId: chunk.id })),
        );
      }
    },
    async purge(jobId) {
      // Its default lane and its class lanes: the job does not say which it used.
      await Promise.all(
        [names.internal.tasksOf(jobId), names.internal.classTasksOf(jobId)].map((filter) =>
          topology.jsm.streams.purge(names.tasksStream, { filter }),
        ),
      );
    },
    ring(lane, laneClass) {
      const named = lane === undefined ? undefined : laneClass ? `${lane}.${laneClass}` : lane;
      nc.publish(names.internal.doorbell, named === undefined ? undefined : encoder.encode(named));
    },
    ...natsQueueControl(names, topology),
  };
}

/**
 * Chunk records in the results bucket; a record's writer announces it on a core subject
 * (`internal.recorded.<job>.<chunk>.<gen>`) — no consumer for the server to create, keep and
 * delete per job, and no subscriber on the bucket's own subjects (one there would answer for a
 * missing stream, so a refused write would wait out its timeout instead of failing at once).
 */
export function natsResultLog(nc: NatsConnection, names: Names, topology: Topology): ResultLog {
  const bucket = natsBucket(
    topology,
    names.buckets.results,
    topology.kv.results,
    topology.writers.results,
  );
  const key = (jobId: string, chunk: number, generation: number) =>
    `${jobId}.${chunk}.${generation}`;
  type OnRecorded = Parameters<ResultLog["follow"]>[1];
  // The followers in this process, by job: most chunks run where their job's owner is.
  const local = new Map<string, Set<OnRecorded>>();
  return {
    create: async (jobId, chunk, generation, record) =>
      (await bucket.create(key(jobId, chunk, generation), record)) !== undefined,
    async read(jobId, chunk, generation) {
      return (await bucket.get(key(jobId, chunk, generation)))?.value;
    },
    async recorded(jobId) {
      const keys = await bucket.keys(`${jobId}.>`);
      return keys.map((k) => {
        const [chunk, generation] = k
          .slice(jobId.length + 1)
          .split(".")
          .map(Number);
        return [chunk ?? 0, generation ?? 0];
      });
    },
    announce(jobId, chunk, generation, record) {
      const subject = names.internal.recorded(jobId, chunk, generation);
      const here = local.get(jobId);
      if (record && here) {
        // Handed over in-process; the bytes need not cross the socket a second time. The
        // announcement still goes out, bare, for a follower elsewhere (a takeover under way).
        for (const onRecorded of here) onRecorded(chunk, generation, record);
        nc.publish(subject);
      } else if (record && record.byteLength <= ANNOUNCED_RECORD_BYTES) {
        nc.publish(subject, record);
      } else {
        nc.publish(subject);
      }
    },
    follow(jobId, onRecorded, onGap) {
      const followers = local.get(jobId) ?? new Set();
      local.set(jobId, followers.add(onRecorded));
      const prefix = names.internal.recordedOf(jobId).slice(0, -1);
      const sub = nc.subscribe(names.internal.recordedOf(jobId), {
        callback: (_error, msg) => {
          const [chunk, generation] = msg.subject.slice(prefix.length).split(".").map(Number);
          onRecorded(chunk ?? 0, generation ?? 0, msg.data.length > 0 ? msg.data : undefined);
        },
      });
      const unlisten = onConnectionChange(nc, ["reconnect"], onGap);
      return () => {
        sub.unsubscribe();
        unlisten();
        followers.delete(onRecorded);
        if (followers.size === 0 && local.get(jobId) === followers) local.delete(jobId);
      };
    },
  };
}

/** Aborts on `internal.abort.<job>`, heard by every process. */
export function natsJobSignals(nc: NatsConnection, names: Names): JobSignals {
  return {
    abort(jobId) {
      nc.publish(names.internal.abort(jobId));
    },
    onAbort(onAbort) {
      const sub = nc.subscribe(names.internal.allAborts, {
        callback: (_error, msg) => onAbort(msg.subject.slice(msg.subject.lastIndexOf(".") + 1)),
      });
      return () => sub.unsubscribe();
    },
    pause(jobId) {
      nc.publish(names.internal.pause(jobId));
    },
    onPause(onPause) {
      const sub = nc.subscribe(names.internal.allPauses, {
        callback: (_error, msg) => onPause(msg.subject.slice(msg.subject.lastIndexOf(".") + 1)),
      });
      return () => sub.unsubscribe();
    },
  };
}

/** A job's task and chunk events, chunk events split into their tasks. */
export function natsTaskEvents(nc: NatsConnection, names: Names): TaskEventFeed {
  return {
    follow(jobId, onEvents) {
      const onEvent = (_error: Error | null, msg: { data: Uint8Array }) => {
        const event = JSON.parse(decoder.decode(msg.data)) as TaskEvent | ChunkEvent;
        onEvents(event.type === "chunk" ? taskEventsOf(event) : [event]);
      };
      const subs = [names.events.tasksOf(jobId), names.events.chunksOf(jobId)].map((subject) =>
        nc.subscribe(subject, { callback: onEvent }),
      );
      return () => {
        for (const sub of subs) sub.unsubscribe();
      };
    },
  };
}

/** A job's public state-change events. */
export function natsJobEvents(nc: NatsConnection, names: Names): JobEventFeed {
  return {
    follow(jobId, onEvent) {
      const sub = nc.subscribe(names.events.job(jobId), {
        callback: (_error, msg) => onEvent(JSON.parse(decoder.decode(msg.data)) as JobEvent),
      });
      return () => sub.unsubscribe();
    },
  };
}

/** The workflow and template buckets. */
export function natsWorkflowPorts(names: Names, topology: Topology): WorkflowPorts {
  const { kv } = topology;
  return {
    workflows: natsBucket(topology, names.buckets.workflows, kv.workflows),
    templates: natsBucket(topology, names.buckets.templates, kv.templates),
  };
}

/** Every port of the task path, on one connection. */
export function natsTaskPorts(nc: NatsConnection, names: Names, topology: Topology): TaskPorts {
  const { kv, writers } = topology;
  const { buckets } = names;
  return {
    jobs: natsBucket(topology, buckets.jobs, kv.jobs, writers.jobs),
    queue: natsTaskQueue(nc, names, topology),
    results: natsResultLog(nc, names, topology),
    checkpoints: natsBucket(topology, buckets.checkpoints, kv.checkpoints, writers.checkpoints),
    counts: natsBucket(topology, buckets.tasks, kv.tasks),
    signals: natsJobSignals(nc, names),
    taskEvents: natsTaskEvents(nc, names),
    jobEvents: natsJobEvents(nc, names),
    book: natsQueueIndex(topology, names, nc),
    history: natsHistory(nc, names, topology),
    classes: natsClassLanes(nc, names, topology),
  };
}
