import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { ManifestSchema } from "../../workflows/manifest.ts";
import { WorkflowListQuerySchema } from "../../workflows/workflow-service.ts";
import { WorkflowSubmitSchema } from "../../workflows/workflow-spec.ts";
import type { GatewayApi } from "../gateway-api.ts";
import { YAML_CONTENT_TYPES } from "../plugins/yaml.ts";
import { PROBLEM_RESPONSES } from "../schemas.ts";
import { gatewayValidatesBody } from "../validation.ts";
import {
  WorkflowIdParamsSchema,
  WorkflowListSchema,
  WorkflowRecordSchema,
  WorkflowSubmitReplySchema,
} from "../workflow-schemas.ts";

/** Workflows (DESIGN §5.2): thin handlers over the gateway. */
export const workflowRoutes: FastifyPluginAsyncTypebox<{ gateway: GatewayApi }> = async (
  app,
  { gateway },
) => {
  app.post(
    "/api/v1/workflows",
    {
      validatorCompiler: gatewayValidatesBody,
      schema: {
        tags: ["workflows"],
        summary: "Submit a workflow (seed 001's shape)",
        description:
          "Each step is a job (inline, or a template and its parameters) submitted once the steps it depends on have jobs, idempotent by `<workflow_id>/<step_id>`. A condition on an upstream step's metric skips the step (and the steps that need it) when it does not hold. The workflow ends FAILED when a step fails (steps below it are not run, other branches finish), else COMPLETED.",
        body: WorkflowSubmitSchema,
        response: { 202: WorkflowSubmitReplySchema, ...PROBLEM_RESPONSES },
      },
    },
    async (request, reply) => reply.code(202).send(await gateway.workflows.submit(request.body)),
  );

  app.post(
    "/api/v1/tasks",
    {
      validatorCompiler: gatewayValidatesBody,
      schema: {
        tags: ["workflows"],
        summary: "Submit seed 003's manifest (YAML, or JSON): its stages become a workflow",
        description:
          "Stages (`name`, `taskType`, `dependsOn`, `model`, `resources`, `parallel`, `data`, `output.destination.path`) are a workflow's steps; `spec.model`, `spec.resources`, `spec.parallel` and `spec.data` are every stage's defaults. A wrong field is a 400 naming its path in the manifest. The reply is the workflow's; `GET /api/v1/workflows/:id` follows it.",
        body: {
          content: Object.fromEntries(
            ["application/json", ...YAML_CONTENT_TYPES].map((type) => [
              type,
              { schema: ManifestSchema },
            ]),
          ),
        },
        response: { 202: WorkflowSubmitReplySchema, ...PROBLEM_RESPONSES },
      },
    },
    async (request, reply) =>
      reply.code(202).send(await gateway.workflows.submitManifest(request.body)),
  );

  app.get(
    "/api/v1/workflows",
    {
      schema: {
        tags: ["workflows"],
        summary: "List workflows, newest first",
        querystring: WorkflowListQuerySchema,
        response: { 200: WorkflowListSchema, ...PROBLEM_RESPONSES },
      },
    },
    async (request) => gateway.workflows.list(request.query),
  );

  app.get(
    "/api/v1/workflows/:id",
    {
      schema: {
        tags: ["workflows"],
        summary: "A workflow: its state and every step's job and state",
        params: WorkflowIdParamsSchema,
        response: { 200: WorkflowRecordSchema, ...PROBLEM_RESPONSES },
      },
    },
    async (request) => gateway.workflows.get({ workflow_id: request.params.id }),
  );

  app.post(
    "/api/v1/workflows/:id/cancel",
    {
      schema: {
        tags: ["workflows"],
        summary: "Cancel a workflow: its running and waiting step jobs are cancelled",
        params: WorkflowIdParamsSchema,
        response: { 200: WorkflowRecordSchema, ...PROBLEM_RESPONSES },
      },
    },
    async (request) => gateway.workflows.cancel({ workflow_id: request.params.id }),
  );
};
