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
    transformObject: (document) =>
      "openapiObject" in document ? asOpenApi30(document.openapiObject) : document.swaggerObject,
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
        {
          name: "resources",
          description: "Placement by resources: what the workers have, hold and have free.",
        },
        { name: "workflows", description: "Workflows of jobs, and seed 003's task manifests." },
        { name: "templates", description: "Job templates, built in and custom." },
        { name: "datasets", description: "Uploaded data sets (CSV) that jobs train on." },
        {
          name: "artifacts",
          description: "A job's model, metrics, history and predictions; downloads; predictions.",
        },
        { name: "operations", description: "Health, readiness and metrics." },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs", staticCSP: true });
  // Seed 002 serves its Swagger UI at /swagger-ui/ and /swagger: the same page, by redirect.
  const toDocs = { schema: { hide: true } } as const;
  for (const alias of ["/swagger", "/swagger-ui"]) {
    app.get(alias, toDocs, (_request, reply) => reply.redirect("/docs/", 301));
  }
  app.get("/swagger-ui/*", toDocs, (request, reply) => {
    const rest = (request.params as { "*": string })["*"];
    return reply.redirect(rest === "" || rest === "index.html" ? "/docs/" : `/docs/${rest}`, 301);
  });
}

/**
 * The schemas are JSON Schema 2020-12, where `exclusiveMinimum: 0` is a bound; OpenAPI 3.0 reads
 * `exclusiveMinimum` as a flag on `minimum`. A copy with each exclusive bound in the 3.0 form
 * (the schemas themselves are shared with validation, so they are not touched).
 */
export function asOpenApi30<T>(value: T): T {
  if (Array.isArray(value)) return value.map(asOpenApi30) as T;
  if (typeof value !== "object" || value === null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if ((key === "exclusiveMinimum" || key === "exclusiveMaximum") && typeof item === "number") {
      copy[key === "exclusiveMinimum" ? "minimum" : "maximum"] = item;
      copy[key] = true;
    } else {
      copy[key] = asOpenApi30(item);
    }
  }
  return copy as T;
}

/**
 * `/docs` (Swagger UI) and `/docs/json` (OpenAPI 3), generated from the routes' schemas: register
 * it before the routes so it sees them.
 */
export const openApi = fp(openApiPlugin, { name: "troupe-openapi", fastify: "5.x" });
