import type { ServerResponse } from "node:http";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import type { JobRecord } from "../../jobs/job-record.ts";
import { isTerminalJobState, type JobState } from "../../jobs/job-state.ts";
import type { GatewayApi } from "../gateway-api.ts";
import { JobIdParamsSchema, JobRecordSchema, PROBLEM_RESPONSES } from "../schemas.ts";

export interface JobEventRoutesOptions {
  gateway: GatewayApi;
  /** Comment lines that keep proxies from closing an idle stream. */
  keepAliveMs: number;
  /** Every open stream registers here, so closing the server ends them. */
  streams: Set<AbortController>;
}

/**
 * `GET /api/v1/jobs/:id/events`, Server-Sent Events: `event: state` with the job record first, then
 * `event: job` and `event: task` (state changes and per-epoch progress) as they happen, and once the
 * job ends `event: end` with its final record. A client that disconnects frees the subscription.
 */
export const jobEventRoutes: FastifyPluginAsyncTypebox<JobEventRoutesOptions> = async (
  app,
  { gateway, keepAliveMs, streams },
) => {
  app.get(
    "/api/v1/jobs/:id/events",
    {
      schema: {
        tags: ["jobs"],
        summary: "Live job and task events (Server-Sent Events) until the job ends",
        params: JobIdParamsSchema,
        response: {
          200: {
            description:
              "`state`, then `job` and `task` events, then `end` (each `data:` is JSON).",
            content: { "text/event-stream": { schema: Type.String() } },
          },
          ...PROBLEM_RESPONSES,
        },
      },
    },
    async (request, reply) => {
      const jobId = request.params.id;
      const abort = new AbortController();
      // Subscribe before reading the record, so nothing that happens in between is missed.
      const events = gateway.watch(jobId, abort.signal)[Symbol.asyncIterator]();
      let record: JobRecord;
      try {
        record = await gateway.get({ job_id: jobId }); // 404 as a problem, before any byte is sent
      } catch (error) {
        abort.abort();
        throw error;
      }
      // fastify types schemas as plain objects; a TypeBox schema is one, the record fits it.
      const serialize = reply.compileSerializationSchema(
        JobRecordSchema as unknown as Record<string, unknown>,
      ) as unknown as (record: JobRecord) => string;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        connection: "keep-alive",
        "x-accel-buffering": "no",
      });
      streams.add(abort);
      const keepAlive = setInterval(() => void write(res, ": keep-alive\n\n"), keepAliveMs);
      res.on("close", () => abort.abort());
      try {
        await write(res, frame("state", serialize(record)));
        const endedAlready = isTerminalJobState(record.status);
        let ended = endedAlready;
        while (!ended && !abort.signal.aborted) {
          const next = await events.next();
          if (next.done) break;
          const event = next.value;
          await write(res, frame(event.type, JSON.stringify(event)));
          ended = event.type === "job" && isTerminalJobState(event.status as JobState);
        }
        if (ended) {
          const final = endedAlready
            ? record
            : await gateway.get({ job_id: jobId }).catch(() => record);
          await write(res, frame("end", serialize(final)));
        }
      } catch (error) {
        request.log.warn({ err: error, job_id: jobId }, "job event stream failed");
      } finally {
        clearInterval(keepAlive);
        abort.abort();
        await events.return?.();
        streams.delete(abort);
        res.end();
      }
    },
  );
};

function frame(event: string, data: string): string {
  return `event: ${event}\ndata: ${data}\n\n`;
}

/** Writes with back-pressure: waits for `drain` when the socket's buffer is full. */
function write(res: ServerResponse, chunk: string): Promise<void> {
  if (res.writableEnded || res.destroyed) return Promise.resolve();
  if (res.write(chunk)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
