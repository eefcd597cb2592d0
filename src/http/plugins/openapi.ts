import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";

export interface OpenApiOptions {
  /** The API version shown in the document. */
  version: string;
}

async function openApiPlugin(app: FastifyInstance, options: OpenApiOptions): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "Troupe",
        description:
          "Actor-model cluster runtime for machine-learning training jobs. Errors are " +
          "application/problem+json naming the field at fault.",
        version: options.version,
      },
      components: {
        securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      },
      security: [{ bearer: [] }],
      tags: [
        { name: "jobs", description: "Submit, list, inspect and cancel training jobs." },
        { name: "workers", description: "Worker activity." },
        { name: "queue", description: "Queue status." },
        { name: "operations", description: "Health, readiness and metrics." },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs", staticCSP: true });
}

/**
 * `/docs` (Swagger UI) and `/docs/json` (OpenAPI 3), generated from the routes' schemas: register
 * it before the routes so it sees them.
 */
export const openApi = fp(openApiPlugin, { name: "troupe-openapi", fastify: "5.x" });
