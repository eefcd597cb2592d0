import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { headers as natsHeaders } from "@nats-io/transport-node";
import fc from "fast-check";
import { pack, unpack } from "msgpackr";
import { beforeAll, describe, expect, it } from "vitest";
import { type ApiClient, apiClient } from "../support/api-client.ts";
import { quickSpec, submit, waitForJob } from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";
import { startTroupes, type TroupeProcess } from "../support/troupe-process.ts";

// The public request subjects of a running process (DESIGN §2.3, §5.2), and the operators' one.
const SUBJECTS = [
  "troupe.jobs.submit",
  "troupe.jobs.get",
  "troupe.jobs.list",
  "troupe.jobs.cancel",
  "troupe.workers.list",
  "troupe.queue.status",
  "troupe.jobs.pause",
  "troupe.jobs.resume",
  "troupe.jobs.priority",
  "troupe.queue.reorder",
  "troupe.analytics.get",
  "troupe.admin.cleanup",
  "troupe.jobs.dependencies",
  "troupe.workflows.submit",
  "troupe.workflows.get",
  "troupe.workflows.list",
  "troupe.workflows.cancel",
  "troupe.templates.list",
  "troupe.templates.get",
  "troupe.templates.create",
  "troupe.templates.delete",
] as const;
type Subject = (typeof SUBJECTS)[number];

const PAYLOADS = 2_000;
const IN_FLIGHT = 16;
const REPLY_TIMEOUT_MS = 10_000;
const encoder = new TextEncoder();

// The server allows 4 MiB messages so that payloads over 1 MiB reach Troupe's own limit.
const serverConfig = join(tmpdir(), `troupe-fuzz-nats-${process.pid}.conf`);
writeFileSync(serverConfig, "max_payload: 4MB\n");

interface Payload {
  subject: Subject;
  data: Uint8Array;
  headers: [string, string][];
  kind: string;
}

const deep = (depth: number, open: string, close: string) =>
  encoder.encode(open.repeat(depth) + close.repeat(depth));

/** Bodies of every kind: JSON and not, msgpack, huge, deeply nested, wrong types. */
const body = fc.oneof(
  fc
    .jsonValue({ maxDepth: 4 })
    .map((v) => ({ kind: "json", data: encoder.encode(JSON.stringify(v)) })),
  fc
    .record({
      key: fc.constantFrom(
        "model_type",
        "tasks",
        "epochs",
        "dataset",
        "hyperparameters",
        "parameters",
        "job_id",
        "limit",
        "cursor",
        "status",
        "retry_policy",
        "template",
        "depends_on",
        "steps",
        "workflow_id",
      ),
      value: fc.jsonValue({ maxDepth: 2 }),
    })
    .map(({ key, value }) => ({
      kind: "wrong-type",
      data: encoder.encode(JSON.stringify({ ...quickSpec(), [key]: value })),
    })),
  fc.string({ maxLength: 200 }).map((s) => ({ kind: "text", data: encoder.encode(s) })),
  fc.uint8Array({ maxLength: 300 }).map((data) => ({ kind: "bytes", data })),
  fc.constant({ kind: "empty", data: new Uint8Array(0) }),
  fc
    .integer({ min: 1_000, max: 100_000 })
    .chain((n) =>
      fc.constantFrom(
        { kind: "deep-array", data: deep(n, "[", "]") },
        { kind: "deep-object", data: deep(n, '{"a":', "}") },
        { kind: "deep-unclosed", data: encoder.encode("[".repeat(n)) },
      ),
    ),
  fc
    .constantFrom(1024 * 1024 + 1, 2 * 1024 * 1024)
    .map((size) => ({ kind: "huge", data: new Uint8Array(size).fill(0x20) })),
);

const headerValue = fc.stringMatching(/^[ -~]{0,40}$/).map((v) => v.trim());
const payload: fc.Arbitrary<Payload> = fc
  .record({
    subject: fc.constantFrom(...SUBJECTS),
    body,
    // One payload in eight is msgpack (its Content-Type says so).
    msgpackOf: fc.oneof(
      { weight: 7, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    ),
    headers: fc.array(
      fc.tuple(
        fc.constantFrom("Content-Type", "content-type", "Nats-Msg-Id", "X-Trace", "Accept"),
        fc.oneof(
          headerValue,
          fc.constantFrom("application/msgpack", "application/json", "text/yaml"),
        ),
      ),
      { maxLength: 3 },
    ),
  })
  .map(({ subject, body, msgpackOf, headers }) => {
    if (msgpackOf !== null) {
      return {
        subject,
        data: pack(msgpackOf),
        headers: [["Content-Type", "application/msgpack"]] as [string, string][],
        kind: "msgpack",
      };
    }
    return { subject, ...body, headers };
  });

/**
 * What a reply must be: an error in the micro-service form (not an internal one), or the
 * subject's own answer.
 */
function judge(p: Payload, data: Uint8Array, serviceError: string | undefined): string | undefined {
  // JSON, or msgpack when the request's Content-Type (whichever of several Troupe read) said so.
  let reply: unknown;
  try {
    reply = JSON.parse(new TextDecoder().decode(data));
  } catch {
    try {
      reply = unpack(data);
    } catch {
      return `undecodable reply (${data.length} bytes: ${new TextDecoder().decode(data.slice(0, 80))})`;
    }
  }
  const r = reply as Record<string, unknown>;
  if (r && typeof r === "object" && "error" in r) {
    const error = r.error as { code?: unknown; message?: unknown };
    if (typeof error?.code !== "string" || typeof error.message !== "string")
      return "malformed error";
    if (!serviceError) return "error without Nats-Service-Error";
    if (error.code === "TROUPE_ERR_INTERNAL") return `internal error: ${error.message}`;
    return undefined;
  }
  const valid: Record<Subject, () => boolean> = {
    "troupe.jobs.submit": () => typeof r.job_id === "string" && typeof r.status === "string",
    "troupe.jobs.get": () => typeof r.job_id === "string",
    "troupe.jobs.list": () => Array.isArray(r.jobs),
    "troupe.jobs.cancel": () => r.status === "CANCELLED",
    "troupe.workers.list": () => Array.isArray(r.workers),
    "troupe.queue.status": () => typeof r.pending === "number",
    "troupe.jobs.pause": () => r.status === "PAUSED",
    "troupe.jobs.resume": () => typeof r.status === "string",
    "troupe.jobs.priority": () => typeof r.priority === "string",
    "troupe.queue.reorder": () => typeof r.queue_position === "number",
    "troupe.analytics.get": () => typeof r.total_jobs === "number",
    "troupe.admin.cleanup": () => r.ok === true,
    "troupe.jobs.dependencies": () => typeof r.job_id === "string",
    "troupe.workflows.submit": () => typeof r.workflow_id === "string",
    "troupe.workflows.get": () => typeof r.workflow_id === "string",
    "troupe.workflows.list": () => Array.isArray(r.workflows),
    "troupe.workflows.cancel": () => r.status === "CANCELLED",
    "troupe.templates.list": () => Array.isArray(r.templates),
    "troupe.templates.get": () => typeof r.id === "string",
    "troupe.templates.create": () => typeof r.id === "string",
    "troupe.templates.delete": () => typeof r.deleted === "string",
  };
  return valid[p.subject]()
    ? undefined
    : `not a ${p.subject} reply: ${JSON.stringify(r).slice(0, 200)}`;
}

/** A payload in a failure message: its headers and the start of its bytes. */
function shown(p: Payload): string {
  const start = new TextDecoder().decode(p.data.slice(0, 60));
  return `(headers ${JSON.stringify(p.headers)}, ${p.data.length} bytes: ${JSON.stringify(start)})`;
}

let client: ApiClient;
let troupe: TroupeProcess;

beforeAll(async () => {
  const nats = await startNats({ configFile: serverConfig });
  [troupe] = (await startTroupes(1, nats.url)) as [TroupeProcess];
  client = await apiClient(nats.url);
});

describe("the NATS door under fuzz", () => {
  it(`answers ${PAYLOADS} generated payloads on every request subject, and real jobs complete alongside`, async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
    const payloads = fc.sample(payload, { numRuns: PAYLOADS, seed });
    const jobs = await Promise.all([1, 2, 3].map(() => submit(client, quickSpec({ tasks: 3 }))));

    const faults: string[] = [];
    const kinds = new Map<string, number>();
    let next = 0;
    const sender = async () => {
      while (next < payloads.length) {
        const p = payloads[next++] as Payload;
        kinds.set(p.kind, (kinds.get(p.kind) ?? 0) + 1);
        const h = natsHeaders();
        for (const [key, value] of p.headers) h.append(key, value);
        try {
          const reply = await client.nc.request(p.subject, p.data, {
            timeout: REPLY_TIMEOUT_MS,
            headers: p.headers.length > 0 ? h : undefined,
          });
          const fault = judge(p, reply.data, reply.headers?.get("Nats-Service-Error"));
          if (fault) faults.push(`${p.kind} to ${p.subject} ${shown(p)}: ${fault}`);
        } catch (error) {
          faults.push(
            `${p.kind} to ${p.subject} ${shown(p)}: no reply (${(error as Error).message})`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, sender));

    expect(faults, `seed ${seed}`).toEqual([]);
    // Every kind was sent (the mix is not all one thing).
    expect([...kinds.keys()].sort()).toEqual(
      expect.arrayContaining([
        "bytes",
        "deep-array",
        "huge",
        "json",
        "msgpack",
        "text",
        "wrong-type",
      ]),
    );
    for (const jobId of jobs) expect((await waitForJob(client, jobId)).status).toBe("COMPLETED");
    // Still up and serving: a request after the storm is answered at once.
    const after = await client.request("troupe.queue.status", {});
    expect(after.serviceError).toBeUndefined();
    expect(troupe.logs.some((l) => l.msg === "stopped on a fatal error")).toBe(false);
  });
});
