import { PRIORITIES, type Priority } from "../contract/priorities.ts";
import type { QueueEntry } from "../transport/ports.ts";

export interface LaneStatus {
  /** Jobs waiting in this priority. */
  length: number;
  /** Mean time the jobs waiting in this priority have waited so far, in seconds. */
  avg_wait_time: number;
}

/** Queue status (DESIGN §5.3): seed 001's job counts and today's task counts. */
export interface QueueStatus {
  /** Jobs waiting to start (their tasks in a lane, or held by a quota). */
  queue_length: number;
  /** Jobs with tasks started. */
  running_jobs: number;
  /** Waiting jobs held back by a quota (MAX_CONCURRENT_JOBS, SERVICE_<NAME>_RUNS_PER_USER). */
  pending_jobs: number;
  /** Paused jobs. */
  paused_jobs: number;
  priority_queues: Record<Priority, LaneStatus>;
  /** Tasks waiting, per priority lane. */
  queues: Record<Priority, number>;
  /** Tasks waiting in all lanes. */
  pending: number;
  /** Tasks running on a worker now. */
  running: number;
}

export interface QueueFacts {
  /** Every live job's queue book entry. */
  entries: Iterable<QueueEntry>;
  /** Chunk messages in each lane by job id, running ones included (TaskQueue.backlog). */
  backlog: Record<Priority, Map<string, number>>;
  /** Ids (`<job_id>.<task_index>`) of the tasks running on any live worker. */
  runningTasks: Iterable<string>;
  /** When each job was submitted (ms), by job id. */
  createdMs(jobId: string): number;
  nowMs: number;
}

/**
 * Counts the queue. A lane holds a job's chunks until they are acknowledged: its tasks there are
 * its chunks times its chunk size (the last chunk may be smaller, so capped by the job's size),
 * and the tasks waiting are those less the job's tasks running.
 */
export function queueStatus(facts: QueueFacts): QueueStatus {
  const entries = new Map<string, QueueEntry>();
  for (const entry of facts.entries) entries.set(entry.job_id, entry);
  const runningByJob = new Map<string, number>();
  let running = 0;
  for (const task of facts.runningTasks) {
    const jobId = task.slice(0, task.indexOf("."));
    runningByJob.set(jobId, (runningByJob.get(jobId) ?? 0) + 1);
    running += 1;
  }
  const queues = {} as Record<Priority, number>;
  for (const priority of PRIORITIES) {
    let tasks = 0;
    for (const [jobId, chunks] of facts.backlog[priority]) {
      const entry = entries.get(jobId);
      const inLane = entry ? Math.min(chunks * entry.chunk_size, entry.total_tasks) : chunks;
      tasks += Math.max(0, inLane - (runningByJob.get(jobId) ?? 0));
    }
    queues[priority] = tasks;
  }
  const waiting = [...entries.values()].filter((e) => e.status === "QUEUED");
  const priority_queues = {} as Record<Priority, LaneStatus>;
  for (const priority of PRIORITIES) {
    const lane = waiting.filter((e) => e.priority === priority);
    const waitedS = lane.map((e) => Math.max(0, facts.nowMs - facts.createdMs(e.job_id)) / 1000);
    priority_queues[priority] = {
      length: lane.length,
      avg_wait_time:
        lane.length === 0 ? 0 : round(waitedS.reduce((sum, s) => sum + s, 0) / lane.length),
    };
  }
  const all = [...entries.values()];
  return {
    queue_length: waiting.length,
    running_jobs: all.filter((e) => e.status === "RUNNING").length,
    pending_jobs: waiting.filter((e) => e.held !== undefined).length,
    paused_jobs: all.filter((e) => e.status === "PAUSED").length,
    priority_queues,
    queues,
    pending: PRIORITIES.reduce((sum, p) => sum + queues[p], 0),
    running,
  };
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
