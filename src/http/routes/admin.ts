import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { GatewayApi } from "../gateway-api.ts";
import { CleanupReplySchema, PROBLEM_RESPONSES } from "../schemas.ts";

export interface AdminRoutesOptions {
  gateway: Pick<GatewayApi, "cleanup">;
}

/** Operations: clean-up now, at Troupe's route and at seed 003's `/admin/cleanup`. */
export const adminRoutes: FastifyPluginAsyncTypebox<AdminRoutesOptions> = async (
  app,
  { gateway },
) => {
  for (const [url, summary] of [
    ["/api/v1/admin/cleanup", "Remove stale workers (two heartbeats missed) now"],
    ["/admin/cleanup", "Seed 003's route for /api/v1/admin/cleanup"],
  ] as const) {
    app.post(
      url,
      {
        schema: {
          tags: ["operations"],
          summary,
          response: { 200: CleanupReplySchema, ...PROBLEM_RESPONSES },
        },
      },
      async () => gateway.cleanup({}),
    );
  }
};
