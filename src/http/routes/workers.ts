import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { GatewayApi } from "../gateway-api.ts";
import {
  PROBLEM_RESPONSES,
  WorkerActivitySchema,
  WorkerIdParamsSchema,
  WorkerListSchema,
  WorkerRecordSchema,
} from "../schemas.ts";

export interface WorkerRoutesOptions {
  gateway: GatewayApi;
}

/** Worker activity (DESIGN §2.5), also at seed 003's `/workers` and `/workers/{id}`. */
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

  app.get(
    "/workers",
    {
      schema: {
        tags: ["workers"],
        summary:
          "Every worker's activity, as a list (seed 003's route; the totals are at /api/v1/workers)",
        response: { 200: WorkerListSchema, ...PROBLEM_RESPONSES },
      },
    },
    async () => (await gateway.workers({})).workers,
  );

  app.get(
    "/workers/:id",
    {
      schema: {
        tags: ["workers"],
        summary: "One worker's activity (seed 003's route for /api/v1/workers/:id)",
        params: WorkerIdParamsSchema,
        response: { 200: WorkerRecordSchema, ...PROBLEM_RESPONSES },
      },
    },
    async (request) => gateway.worker({ worker_id: request.params.id }),
  );
};
