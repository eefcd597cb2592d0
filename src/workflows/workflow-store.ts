import { pack, unpack } from "msgpackr";
import type { Bucket } from "../transport/ports.ts";
import type { WorkflowRecord, WorkflowState } from "./workflow-record.ts";

const MAX_CAS_TRIES = 20;

/**
 * Workflow records in their bucket (msgpack). Every change is a compare-and-set on the revision
 * it read, retried on conflict: the driver and a cancel may write at once.
 */
export class WorkflowStore {
  readonly #bucket: Bucket;

  constructor(bucket: Bucket) {
    this.#bucket = bucket;
  }

  /** False if the id exists already. */
  async create(record: WorkflowRecord): Promise<boolean> {
    return (await this.#bucket.create(record.workflow_id, pack(record))) !== undefined;
  }

  async get(workflowId: string): Promise<WorkflowRecord | undefined> {
    const entry = await this.#bucket.get(workflowId);
    return entry ? (unpack(entry.value) as WorkflowRecord) : undefined;
  }

  /**
   * Applies `change` to the latest record until the compare-and-set succeeds; `change` returns
   * undefined to leave it. Resolves with the stored record; undefined if there is none.
   */
  async update(
    workflowId: string,
    change: (current: WorkflowRecord) => WorkflowRecord | undefined,
  ): Promise<WorkflowRecord | undefined> {
    for (let attempt = 0; attempt < MAX_CAS_TRIES; attempt++) {
      const entry = await this.#bucket.get(workflowId);
      if (!entry) return undefined;
      const current = unpack(entry.value) as WorkflowRecord;
      const next = change(structuredClone(current));
      if (!next) return current;
      if (await this.#bucket.update(workflowId, pack(next), entry.revision)) return next;
    }
    throw new Error(`workflow ${workflowId}: gave up after ${MAX_CAS_TRIES} conflicting updates`);
  }

  /** Newest first, filtered, one page at a time. */
  async list(query: {
    status?: WorkflowState | undefined;
    user_id?: string | undefined;
    limit: number;
    cursor?: string | undefined;
  }): Promise<{ workflows: WorkflowRecord[]; next_cursor: string | null }> {
    const ids = (await this.#bucket.keys()).sort().reverse();
    const from =
      query.cursor === undefined ? ids : ids.filter((id) => id < (query.cursor as string));
    const workflows: WorkflowRecord[] = [];
    for (const id of from) {
      const record = await this.get(id);
      if (!record || (query.status && record.status !== query.status)) continue;
      if (query.user_id && record.user_id !== query.user_id) continue;
      if (workflows.length === query.limit) {
        return { workflows, next_cursor: workflows[workflows.length - 1]?.workflow_id ?? null };
      }
      workflows.push(record);
    }
    return { workflows, next_cursor: null };
  }
}
