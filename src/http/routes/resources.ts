import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { GatewayApi } from "../gateway-api.ts";
import { ResourceAvailabilitySchema } from "../resource-schemas.ts";
import { PROBLEM_RESPONSES } from "../schemas.ts";

export interface ResourceRoutesOptions {
  gateway: GatewayApi;
}

/** Placement by resources (DESIGN §5.4): what the live workers have, hold and have free. */
export const resourceRoutes: FastifyPluginAsyncTypebox<ResourceRoutesOptions> = async (
  app,
  { gateway },
) => {
  app.get(
    "/api/v1/resources/availability",
    {
      schema: {
        tags: ["resources"],
        summary: "Total, allocated and free resources, cluster-wide and per live worker",
        response: { 200: ResourceAvailabilitySchema, ...PROBLEM_RESPONSES },
      },
    },
    async () => gateway.resourcesAvailability({}),
  );
};
