import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { GatewayApi } from "../gateway-api.ts";
import {
  PROBLEM_RESPONSES,
  WorkerActivitySchema,
  WorkerIdParamsSchema,
  WorkerRecordSchema,
} from "../schemas.ts";

export interface WorkerRoutesOptions {
  gateway: GatewayApi;
}

/** Worker activity (DESIGN §2.5). */
export const workerRoutes: FastifyPluginAsyncTypebox<WorkerRoutesOptions> = async (
  app,
  { gateway },
) => {
  app.get(
    "/api/v1/workers",
    {
      schema: {
        tags: ["workers"],
        summary: "Every worker's activity, with totals",
        response: { 200: WorkerActivitySchema, ...PROBLEM_RESPONSES },
      },
    },
    async () => gateway.workers({}),
  );

  app.get(
    "/api/v1/workers/:id",
    {
      schema: {
        tags: ["workers"],
        summary: "One worker's activity",
        params: WorkerIdParamsSchema,
        response: { 200: WorkerRecordSchema, ...PROBLEM_RESPONSES },
      },
    },
    async (request) => gateway.worker({ worker_id: request.params.id }),
  );
};
