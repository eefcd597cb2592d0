import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import type { GatewayApi } from "../gateway-api.ts";
import {
  AnalyticsQueryStringSchema,
  AnalyticsReportSchema,
  PauseBodySchema,
  PriorityBodySchema,
  QueueStatusSchema,
  ReorderBodySchema,
  ReorderReplySchema,
} from "../queue-schemas.ts";
import { JobIdParamsSchema, JobRecordSchema, PROBLEM_RESPONSES } from "../schemas.ts";
import { gatewayValidatesBody } from "../validation.ts";

export interface QueueRoutesOptions {
  gateway: GatewayApi;
}

/** Queue status, priority changes and reorders: thin handlers over the gateway. */
export const queueRoutes: FastifyPluginAsyncTypebox<QueueRoutesOptions> = async (
  app,
  { gateway },
) => {
  app.get(
    "/api/v1/queue/status",
    {
      schema: {
        tags: ["queue"],
        summary: "Jobs and tasks waiting per priority, running, held by quotas",
        response: { 200: QueueStatusSchema, ...PROBLEM_RESPONSES },
      },
    },
    async () => gateway.queueStatus({}),
  );
  app.get(
    "/api/v1/analytics",
    {
      schema: {
        tags: ["queue"],
        summary: "Throughput, success and failures, resource use, per model type and user",
        description: "Over the jobs that ended in `window` (default 24h), from the job history.",
        querystring: AnalyticsQueryStringSchema,
        response: { 200: AnalyticsReportSchema, ...PROBLEM_RESPONSES },
      },
    },
    async (request) => gateway.analytics(request.query),
  );
  app.put(
    "/api/v1/jobs/:id/priority",
    {
      validatorCompiler: gatewayValidatesBody,
      schema: {
        tags: ["queue"],
        summary: "Move a live job and its queued tasks to another priority",
        description: "409 naming its state for a job that has ended.",
        params: JobIdParamsSchema,
        body: PriorityBodySchema,
        response: { 200: JobRecordSchema, ...PROBLEM_RESPONSES },
      },
    },
    async (request) => gateway.priority({ ...objectOf(request.body), job_id: request.params.id }),
  );
  for (const action of ["pause", "resume"] as const) {
    app.post(
      `/api/v1/jobs/:id/${action}`,
      {
        validatorCompiler: gatewayValidatesBody,
        schema: {
          tags: ["queue"],
          summary:
            action === "pause"
              ? "Pause a queued or running job: its running tasks stop at their next epoch, checkpointed"
              : "Resume a paused job from its checkpoints",
          description: `409 naming its state for a job that is not ${action === "pause" ? "QUEUED or RUNNING" : "PAUSED"}.`,
          params: JobIdParamsSchema,
          body: Type.Optional(PauseBodySchema),
          response: { 200: JobRecordSchema, ...PROBLEM_RESPONSES },
        },
      },
      async (request) =>
        gateway[action]({ ...objectOf(request.body ?? {}), job_id: request.params.id }),
    );
  }
  app.post(
    "/api/v1/queue/reorder",
    {
      validatorCompiler: gatewayValidatesBody,
      schema: {
        tags: ["queue"],
        summary: "Put a queued job at new_position among the queued jobs of its priority",
        description: "409 for a job that is not queued; 400 for a position out of range.",
        body: ReorderBodySchema,
        response: { 200: ReorderReplySchema, ...PROBLEM_RESPONSES },
      },
    },
    async (request) => gateway.reorder(request.body),
  );
};

/** The body's fields, when it is an object (the gateway names what is wrong otherwise). */
function objectOf(body: unknown): Record<string, unknown> {
  return typeof body === "object" && body !== null && !Array.isArray(body)
    ? (body as Record<string, unknown>)
    : { body };
}
