import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { UnauthorizedError } from "../../errors.ts";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Served without the bearer token (health, readiness, metrics: DESIGN §2.4). */
    public?: boolean;
  }
}

export interface AuthOptions {
  /** The expected bearer token; undefined or empty turns auth off. */
  token: string | undefined;
}

const digest = (text: string) => createHash("sha256").update(text).digest();

/**
 * Whether `header` is `Bearer <token>`. Both sides are hashed first, so the comparison is constant
 * time and does not leak the token's length either.
 */
export function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? "");
  const given = digest(match?.[1] ?? "");
  return timingSafeEqual(given, expected) && match !== null;
}

async function authPlugin(app: FastifyInstance, options: AuthOptions): Promise<void> {
  if (!options.token) return;
  const expected = digest(options.token);
  app.addHook("onRequest", async (request: FastifyRequest) => {
    if (request.routeOptions.config.public === true) return;
    if (!bearerMatches(request.headers.authorization, expected)) throw new UnauthorizedError();
  });
}

/**
 * With TROUPE_API_TOKEN set, every route needs `Authorization: Bearer <token>`, except the routes
 * whose config says `public: true`. A refusal is a 401 problem with `WWW-Authenticate: Bearer`.
 */
export const bearerAuth = fp(authPlugin, { name: "troupe-auth", fastify: "5.x" });
