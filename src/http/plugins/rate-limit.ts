import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { RateLimitedError } from "../../errors.ts";

export interface RateLimitOptions {
  /** Requests per client (IP address) per minute (RATE_LIMIT_PER_MIN). */
  perMinute: number;
}

async function rateLimitPlugin(app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  await app.register(rateLimit, {
    global: true,
    max: options.perMinute,
    timeWindow: 60_000,
    // Thrown, so the problem handler writes the 429 like any other error.
    errorResponseBuilder: (_request, context) => new RateLimitedError(context.max, context.after),
  });
}

/**
 * At most `perMinute` requests a minute per client, on every route registered after it except
 * those whose config says `rateLimit: false` (health, readiness, metrics). In memory, per process.
 */
export const rateLimiting = fp(rateLimitPlugin, { name: "troupe-rate-limit", fastify: "5.x" });
