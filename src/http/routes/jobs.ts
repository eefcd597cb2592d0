import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { submitBatch } from "../batch.ts";
import type { GatewayApi } from "../gateway-api.ts";
import { YAML_CONTENT_TYPES } from "../plugins/yaml.ts";
import {
  BatchReplySchema,
  BatchRequestSchema,
  JobIdParamsSchema,
  JobListSchema,
  JobRecordSchema,
  JobSpecBodySchema,
  ListQuerySchema,
  PROBLEM_RESPONSES,
  SubmitReplySchema,
} from "../schemas.ts";
import { gatewayValidatesBody } from "../validation.ts";

export interface JobRoutesOptions {
  gateway: GatewayApi;
}

/** The same schema under JSON and every YAML media type, for OpenAPI. */
function bodyOf<S>(schema: S) {
  const content: Record<string, { schema: S }> = { "application/json": { schema } };
  for (const type of YAML_CONTENT_TYPES) content[type] = { schema };
  return { content };
}

/** Submit (one or a batch), list, get and cancel jobs: thin handlers over the gateway. */
export const jobRoutes: FastifyPluginAsyncTypebox<JobRoutesOptions> = async (app, { gateway }) => {
  app.post(
    "/api/v1/jobs",
    {
      // The gateway checks the spec (parseJobSpec), with the training-specific messages.
      validatorCompiler: gatewayValidatesBody,
      schema: {
        tags: ["jobs"],
        summary: "Submit a job (JSON or YAML)",
        description: "Idempotent by `idempotency_key`: the same key yields the same job.",
        body: bodyOf(JobSpecBodySchema),
        response: { 202: SubmitReplySchema, ...PROBLEM_RESPONSES },
      },
    },
    async (request, reply) => reply.code(202).send(await gateway.submit(request.body)),
  );

  app.post(
    "/api/v1/jobs/batch",
    {
      validatorCompiler: gatewayValidatesBody,
      schema: {
        tags: ["jobs"],
        summary: "Submit up to 1000 jobs; all are validated before any is queued",
        body: bodyOf(BatchRequestSchema),
        response: { 202: BatchReplySchema, ...PROBLEM_RESPONSES },
      },
    },
    async (request, reply) =>
      reply.code(202).send(
        await submitBatch(
          request.body,
          (spec) => gateway.submit(spec),
          (spec) => gateway.checkJob(spec),
        ),
      ),
  );

  app.get(
    "/api/v1/jobs",
    {
      schema: {
        tags: ["jobs"],
        summary: "List jobs, newest first, by status and user",
        querystring: ListQuerySchema,
        response: { 200: JobListSchema, ...PROBLEM_RESPONSES },
      },
    },
    async (request) => gateway.list(request.query),
  );

  app.get(
    "/api/v1/jobs/:id",
    {
      schema: {
        tags: ["jobs"],
        summary: "A job record",
        params: JobIdParamsSchema,
        response: { 200: JobRecordSchema, ...PROBLEM_RESPONSES },
      },
    },
    async (request) => gateway.get({ job_id: request.params.id }),
  );

  app.post(
    "/api/v1/jobs/:id/cancel",
    {
      schema: {
        tags: ["jobs"],
        summary: "Cancel a job that has not ended (409 naming its state if it has)",
        params: JobIdParamsSchema,
        response: { 200: JobRecordSchema, ...PROBLEM_RESPONSES },
      },
    },
    async (request) => gateway.cancel({ job_id: request.params.id }),
  );
};
