import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import type { Metrics } from "../../metrics.ts";

export interface MetricsRoutesOptions {
  metrics: Pick<Metrics, "render" | "contentType">;
}

/** `/metrics` in the Prometheus text format; no token (DESIGN §2.4), no rate limit. */
export const metricsRoutes: FastifyPluginAsyncTypebox<MetricsRoutesOptions> = async (
  app,
  { metrics },
) => {
  app.get(
    "/metrics",
    {
      config: { public: true, rateLimit: false },
      schema: {
        tags: ["operations"],
        summary: "Prometheus metrics (DESIGN §2.6)",
        security: [],
        response: {
          200: { content: { "text/plain": { schema: Type.String() } } },
        },
      },
    },
    async (_request, reply) => reply.type(metrics.contentType).send(await metrics.render()),
  );
};
