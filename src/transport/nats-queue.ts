import { PRIORITIES, type Priority } from "../contract/priorities.ts";
import type { NatsConnection } from "./connection.ts";
import { followBucket } from "./follow-bucket.ts";
import { KvWriter, kvStream, kvSubject } from "./kv.ts";
import type { QueueEntry, QueueIndex, TaskQueue } from "./ports.ts";
import type { Topology } from "./streams.ts";
import type { Names } from "./subjects.ts";

/** Markers dropped at a time: bounded, however many jobs ended since the last clean-up. */
const PURGE_BATCH = 100;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The queue control half of the task queue: moving a job's unpulled chunks, counting lanes. */
export function natsQueueControl(
  names: Names,
  topology: Topology,
): Pick<TaskQueue, "move" | "backlog"> {
  const { jsm, publisher } = topology;
  const stream = names.tasksStream;
  /**
   * Moves what `consumer` has not delivered yet of `subject` to the back of `target`; `msgId`
   * (with `%` for the original's sequence) makes a repeated copy a no-op.
   */
  async function moveSubject(
    consumer: string,
    subject: string,
    target: string,
    msgId: string,
  ): Promise<number> {
    // A lane's consumer hands its messages out in stream order: past its delivered sequence,
    // no worker has pulled one yet (redeliveries and running chunks stay where they are).
    const info = await jsm.consumers.info(stream, consumer);
    let moved = 0;
    let seq = info.delivered.stream_seq + 1;
    // Copies land past every original: the first copy's sequence ends the walk (within one
    // lane, the walk would otherwise meet its own copies).
    let end = Number.POSITIVE_INFINITY;
    for (;;) {
      // next_by_subj: the first message of the subject at or after seq (nats-server 2.9+).
      const query = { seq, next_by_subj: subject } as unknown as { seq: number };
      const stored = await jsm.streams.getMessage(stream, query).catch(notFound);
      if (!stored || stored.seq >= end) break;
      const copy = await publisher.publish(target, stored.data, {
        msgId: msgId.replace("%", String(stored.seq)),
      });
      end = Math.min(end, copy.seq);
      await jsm.streams.deleteMessage(stream, stored.seq, false).catch(notFound);
      moved += 1;
      seq = stored.seq + 1;
    }
    return moved;
  }
  return {
    async move(jobId, from, to) {
      // The job's chunks are in its default lane or in the lanes of its resource class.
      const classes = await jsm.streams.info(stream, {
        subjects_filter: names.internal.classTask(from, "*", jobId),
      });
      const laneClasses = Object.keys(classes.state.subjects ?? {}).map(
        (subject) => subject.split(".").at(-2) as string,
      );
      let moved = await moveSubject(
        names.laneConsumer(from),
        names.internal.task(from, jobId),
        names.internal.task(to, jobId),
        `${jobId}~%~${to}`,
      );
      for (const laneClass of laneClasses) {
        moved += await moveSubject(
          names.classLaneConsumer(from, laneClass),
          names.internal.classTask(from, laneClass, jobId),
          names.internal.classTask(to, laneClass, jobId),
          `${jobId}~%~${to}~${laneClass}`,
        );
      }
      return moved;
    },
    async backlog() {
      const lanes = await Promise.all(
        PRIORITIES.map((priority) =>
          jsm.streams.info(stream, { subjects_filter: names.internal.priorityTasks(priority) }),
        ),
      );
      const byLane = {} as Record<Priority, Map<string, number>>;
      PRIORITIES.forEach((priority, i) => {
        const subjects = lanes[i]?.state.subjects ?? {};
        // A job's chunks may be in its default lane and its class lane (a job queued again).
        const counts = new Map<string, number>();
        for (const [subject, count] of Object.entries(subjects)) {
          const jobId = subject.slice(subject.lastIndexOf(".") + 1);
          counts.set(jobId, (counts.get(jobId) ?? 0) + count);
        }
        byLane[priority] = counts;
      });
      return byLane;
    },
  };
}

/** A message that is gone (pulled and acked, deleted) reads as nothing. */
function notFound(error: unknown): null {
  if (error instanceof Error && /not found|no message/i.test(error.message)) return null;
  throw error;
}

/** The queue book in its KV bucket, followed through a watch (re-read whole after a gap). */
export function natsQueueIndex(topology: Topology, names: Names, nc: NatsConnection): QueueIndex {
  const kv = topology.kv.queue;
  // Each job writes its entry a few times in its life: through the lean publisher, as job records.
  const writer = new KvWriter(topology.publisher, names.buckets.queue);
  return {
    async put(entry) {
      await writer.put(entry.job_id, encoder.encode(JSON.stringify(entry)));
    },
    async remove(jobId) {
      await writer.delete(jobId);
    },
    async forgetRemoved(before) {
      // One message per key (history 1): a live entry, or a removal's marker. Each is read by
      // its subject; no consumer is left waiting on a bucket that changes meanwhile.
      const stream = kvStream(names.buckets.queue);
      const info = await topology.jsm.streams.info(stream, {
        subjects_filter: kvSubject(names.buckets.queue, ">"),
      });
      const subjects = Object.keys(info.state.subjects ?? {});
      let dropped = 0;
      for (let at = 0; at < subjects.length; at += PURGE_BATCH) {
        const batch = subjects.slice(at, at + PURGE_BATCH);
        const stored = await Promise.all(
          batch.map((subject) =>
            topology.jsm.streams.getMessage(stream, { last_by_subj: subject }).catch(notFound),
          ),
        );
        const old = stored.flatMap((m) =>
          m?.header?.get("KV-Operation") && m.time.getTime() < before ? [m.subject] : [],
        );
        await Promise.all(
          old.map((subject) => topology.jsm.streams.purge(stream, { filter: subject })),
        );
        dropped += old.length;
      }
      return dropped;
    },
    follow(onChange, onReset) {
      return followBucket(
        nc,
        kv,
        (key, value) => onChange(key, value && (JSON.parse(decoder.decode(value)) as QueueEntry)),
        onReset,
      );
    },
  };
}
