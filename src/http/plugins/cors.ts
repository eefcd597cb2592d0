import fastifyCors from "@fastify/cors";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";

export interface CorsOptions {
  /** CORS_ORIGINS: exact origins, or `*` for any; empty turns CORS off. */
  origins: readonly string[];
}

async function corsPlugin(app: FastifyInstance, { origins }: CorsOptions): Promise<void> {
  if (origins.length === 0) return;
  await app.register(fastifyCors, {
    origin: origins.includes("*") ? "*" : [...origins],
    methods: ["GET", "HEAD", "POST", "PUT", "DELETE"],
    allowedHeaders: ["Authorization", "Content-Type", "Last-Event-ID"],
    // Preflights are answered for a day: the allowed origins change only with a restart.
    maxAge: 86_400,
  });
}

/**
 * CORS for browser clients on other origins (a dashboard served elsewhere), off unless
 * CORS_ORIGINS says; preflight requests are answered before the bearer token is checked.
 */
export const cors = fp(corsPlugin, { name: "troupe-cors", fastify: "5.x" });
