import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import { AddDependenciesSchema } from "../../jobs/dependency-requests.ts";
import type { GatewayApi } from "../gateway-api.ts";
import { JobIdParamsSchema, JobRecordSchema, PROBLEM_RESPONSES } from "../schemas.ts";
import { gatewayValidatesBody } from "../validation.ts";

const { job_id: _id, ...bodyFields } = AddDependenciesSchema.properties;
const DependenciesBodySchema = Type.Object(bodyFields, {
  additionalProperties: false,
  examples: [{ depends_on: ["job_0mi1zq5k3a8d9x2c4vbn"], dependency_type: "all_complete" }],
});

/** `POST /api/v1/jobs/:id/dependencies` (seed 001's body). */
export const dependencyRoutes: FastifyPluginAsyncTypebox<{ gateway: GatewayApi }> = async (
  app,
  { gateway },
) => {
  app.post(
    "/api/v1/jobs/:id/dependencies",
    {
      validatorCompiler: gatewayValidatesBody,
      schema: {
        tags: ["jobs"],
        summary: "Make a job not queued yet wait for more jobs (409 once it is queued)",
        description:
          "Unknown jobs and a dependency cycle are refused, naming them. The job stays WAITING until its dependencies hold, and ends CANCELLED naming the dependency when they never can.",
        params: JobIdParamsSchema,
        body: DependenciesBodySchema,
        response: { 200: JobRecordSchema, ...PROBLEM_RESPONSES },
      },
    },
    async (request) =>
      gateway.addDependencies({ ...(request.body as object), job_id: request.params.id }),
  );
};
