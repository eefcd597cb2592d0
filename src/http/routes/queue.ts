import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { GatewayApi } from "../gateway-api.ts";
import { PROBLEM_RESPONSES, QueueStatusSchema } from "../schemas.ts";

export interface QueueRoutesOptions {
  gateway: GatewayApi;
}

/** Queue lengths per priority lane, pending and running. */
export const queueRoutes: FastifyPluginAsyncTypebox<QueueRoutesOptions> = async (
  app,
  { gateway },
) => {
  app.get(
    "/api/v1/queue/status",
    {
      schema: {
        tags: ["queue"],
        summary: "Tasks waiting per priority lane, and running",
        response: { 200: QueueStatusSchema, ...PROBLEM_RESPONSES },
      },
    },
    async () => gateway.queueStatus({}),
  );
};
