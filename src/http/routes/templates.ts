import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { TemplateListQuerySchema } from "../../workflows/template-service.ts";
import { TemplateCreateSchema } from "../../workflows/template-spec.ts";
import type { GatewayApi } from "../gateway-api.ts";
import { PROBLEM_RESPONSES } from "../schemas.ts";
import { gatewayValidatesBody } from "../validation.ts";
import {
  TemplateDeletedSchema,
  TemplateIdParamsSchema,
  TemplateListSchema,
  TemplateViewSchema,
} from "../workflow-schemas.ts";

/** Job templates (DESIGN §5.2): thin handlers over the gateway. */
export const templateRoutes: FastifyPluginAsyncTypebox<{ gateway: GatewayApi }> = async (
  app,
  { gateway },
) => {
  app.get(
    "/api/v1/templates",
    {
      schema: {
        tags: ["templates"],
        summary: "List job templates: the built-in ones, then those created",
        querystring: TemplateListQuerySchema,
        response: { 200: TemplateListSchema, ...PROBLEM_RESPONSES },
      },
    },
    async (request) => gateway.templates.list(request.query),
  );

  app.post(
    "/api/v1/templates",
    {
      validatorCompiler: gatewayValidatesBody,
      schema: {
        tags: ["templates"],
        summary: "Create a job template, optionally on a base template",
        description:
          'A submit `{"template": id, "parameters": {…}}` (a job, a batch\'s job, a workflow step) merges the chain\'s defaults, its parameters and the request\'s fields into one spec, checked by the one job schema; a problem in a field a template set names the template.',
        body: TemplateCreateSchema,
        response: { 201: TemplateViewSchema, ...PROBLEM_RESPONSES },
      },
    },
    async (request, reply) => reply.code(201).send(await gateway.templates.create(request.body)),
  );

  app.get(
    "/api/v1/templates/:id",
    {
      schema: {
        tags: ["templates"],
        summary: "A job template and the parameters it takes",
        params: TemplateIdParamsSchema,
        response: { 200: TemplateViewSchema, ...PROBLEM_RESPONSES },
      },
    },
    async (request) => gateway.templates.get({ id: request.params.id }),
  );

  app.delete(
    "/api/v1/templates/:id",
    {
      schema: {
        tags: ["templates"],
        summary: "Delete a created template (409 for a built-in one, or one others build on)",
        params: TemplateIdParamsSchema,
        response: { 200: TemplateDeletedSchema, ...PROBLEM_RESPONSES },
      },
    },
    async (request) => gateway.templates.delete({ id: request.params.id }),
  );
};
