import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { NotReadyError } from "../../errors.ts";
import type { GatewayApi } from "../gateway-api.ts";
import { HealthSchema, PROBLEM_RESPONSES, ReadySchema, WorkerHealthSchema } from "../schemas.ts";

export interface HealthRoutesOptions {
  gateway: Pick<GatewayApi, "isReady" | "health">;
}

// Probes: no token (DESIGN §2.4), no rate limit (an orchestrator polls them).
const PROBE = { public: true, rateLimit: false } as const;

/**
 * `/healthz`: the process answers. `/readyz`: it can serve requests now, else 503. `/health`: this
 * process's worker as seed 004's worker tells it (also on METRICS_PORT).
 */
export const healthRoutes: FastifyPluginAsyncTypebox<HealthRoutesOptions> = async (
  app,
  { gateway },
) => {
  const isReady = () => gateway.isReady();
  app.get(
    "/healthz",
    {
      config: PROBE,
      schema: {
        tags: ["operations"],
        summary: "Liveness: the process answers",
        security: [],
        response: { 200: HealthSchema },
      },
    },
    async () => ({ status: "ok" as const }),
  );

  app.get(
    "/readyz",
    {
      config: PROBE,
      schema: {
        tags: ["operations"],
        summary: "Readiness: NATS connected and streams present (else 503)",
        security: [],
        response: { 200: ReadySchema, ...PROBLEM_RESPONSES },
      },
    },
    async () => {
      const ready = await isReady().catch(() => false);
      if (!ready) throw new NotReadyError("NATS is not connected or Troupe's streams are missing");
      return { status: "ready" as const };
    },
  );

  app.get(
    "/health",
    {
      config: PROBE,
      schema: {
        tags: ["operations"],
        summary:
          "This process's worker: status, uptime, tasks, NATS connection (seed 004's worker)",
        security: [],
        response: { 200: WorkerHealthSchema, ...PROBLEM_RESPONSES },
      },
    },
    async () => gateway.health(),
  );
};
