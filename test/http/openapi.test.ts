import SwaggerParser from "@apidevtools/swagger-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HyperparameterSchemas } from "../../src/training/hyperparameters.ts";
import { type HttpFixture, startHttpFixture } from "./support.ts";

let fx: HttpFixture;
let url: string;

beforeAll(async () => {
  fx = await startHttpFixture();
  ({ url } = await fx.serve());
});
afterAll(() => fx.close());

const ROUTES = [
  ["post", "/api/v1/jobs"],
  ["post", "/api/v1/jobs/batch"],
  ["get", "/api/v1/jobs"],
  ["get", "/api/v1/jobs/{id}"],
  ["post", "/api/v1/jobs/{id}/cancel"],
  ["get", "/api/v1/jobs/{id}/events"],
  ["get", "/api/v1/workers"],
  ["get", "/api/v1/workers/{id}"],
  ["get", "/api/v1/queue/status"],
  ["get", "/api/v1/resources/availability"],
  ["put", "/api/v1/jobs/{id}/priority"],
  ["post", "/api/v1/queue/reorder"],
  ["post", "/api/v1/jobs/{id}/pause"],
  ["post", "/api/v1/jobs/{id}/resume"],
  ["get", "/api/v1/analytics"],
  ["post", "/api/v1/datasets"],
  ["post", "/upload"],
  ["head", "/api/v1/jobs/{id}/download"],
  ["get", "/healthz"],
  ["get", "/readyz"],
  ["get", "/metrics"],
] as const;

describe("/docs", () => {
  it("serves /docs/json as a valid OpenAPI 3 document listing every route", async () => {
    const res = await fetch(`${url}/docs/json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    // Validates against the OpenAPI 3.0 JSON Schema and resolves every $ref (on a copy).
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
    for (const [method, path] of ROUTES)
      expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
  });

  it("documents the submit body in JSON and YAML from the job spec schema, and problems for errors", async () => {
    // biome-ignore lint/suspicious/noExplicitAny: the JSON is asserted field by field
    const doc = (await (await fetch(`${url}/docs/json`)).json()) as any;
    const submit = doc.paths["/api/v1/jobs"].post;
    for (const type of ["application/json", "application/yaml", "text/yaml"]) {
      const variants = submit.requestBody.content[type].schema.oneOf;
      expect(variants).toHaveLength(Object.keys(HyperparameterSchemas).length);
      for (const variant of variants) {
        expect(variant.required).toEqual(["model_type"]);
        expect(variant.properties.priority.enum).toEqual(["urgent", "high", "normal", "low"]);
      }
    }
    expect(submit.responses["202"]).toBeDefined();
    expect(
      submit.responses["4XX"].content["application/problem+json"].schema.properties.errors,
    ).toBeDefined();
    const job =
      doc.paths["/api/v1/jobs/{id}"].get.responses["200"].content["application/json"].schema;
    expect(Object.keys(job.properties)).toEqual(
      expect.arrayContaining(["job_id", "status", "progress", "metrics", "spec", "finished_at"]),
    );
  });

  it("documents each model type's hyperparameters, with ranges and defaults, as a oneOf keyed by model_type", async () => {
    // biome-ignore lint/suspicious/noExplicitAny: the JSON is asserted field by field
    const doc = (await (await fetch(`${url}/docs/json`)).json()) as any;
    const submit = doc.paths["/api/v1/jobs"].post.requestBody.content["application/json"].schema;
    const batch = doc.paths["/api/v1/jobs/batch"].post.requestBody.content["application/json"];
    expect(batch.schema.properties.specs.items).toEqual(submit);
    const byModel = new Map<string, Record<string, Record<string, unknown>>>(
      // biome-ignore lint/suspicious/noExplicitAny: read from the JSON document above
      submit.oneOf.map((variant: { properties: Record<string, any> }) => [
        variant.properties.model_type.enum.join(),
        variant.properties.hyperparameters.properties,
      ]),
    );
    expect([...byModel.keys()]).toEqual(Object.keys(HyperparameterSchemas));
    for (const [model, schema] of Object.entries(HyperparameterSchemas)) {
      const documented = byModel.get(model) ?? {};
      // Its own fields first, then the seeds' names of them (documented, resolved at submit).
      const own = Object.keys(documented).slice(0, Object.keys(schema.properties).length);
      expect(own).toEqual(Object.keys(schema.properties));
      for (const [name, property] of Object.entries(schema.properties)) {
        const field = documented[name] ?? {};
        const { default: fallback, minimum, maximum } = property as Record<string, unknown>;
        expect(field.default, `${model}.${name}`).toEqual(fallback);
        if (minimum !== undefined) expect(field.minimum, `${model}.${name}`).toBe(minimum);
        if (maximum !== undefined) expect(field.maximum, `${model}.${name}`).toBe(maximum);
      }
    }
    // OpenAPI 3.0's form of an exclusive bound: learning_rate may not be 0.
    expect(byModel.get("xgboost")?.learning_rate).toMatchObject({
      minimum: 0,
      exclusiveMinimum: true,
      maximum: 1,
      default: 0.3,
    });
    expect(byModel.get("neural_network")?.optimizer).toMatchObject({ enum: ["sgd", "adam"] });
    expect(byModel.get("random_forest")?.n_estimators).toMatchObject({
      description: "Seed 001's name for n_trees.",
    });
    expect(byModel.get("svm")?.C).toMatchObject({ description: "Seed 001's name for c." });
    expect(byModel.get("xgboost")?.C).toBeUndefined();
  });

  it("shows the seed services' names in the submit body: parameters, dependencies, retry_delay", async () => {
    // biome-ignore lint/suspicious/noExplicitAny: the JSON is asserted field by field
    const doc = (await (await fetch(`${url}/docs/json`)).json()) as any;
    const variant =
      doc.paths["/api/v1/jobs"].post.requestBody.content["application/json"].schema.oneOf[0];
    expect(variant.properties.parameters.description).toContain("Seed 001's envelope");
    expect(variant.properties.dependencies.description).toContain("depends_on");
    expect(variant.properties.retry_policy.properties.retry_delay.description).toContain("seconds");
    expect(variant.properties.resources.properties.storage_gb).toBeDefined();
  });

  it("documents the data set uploads' bodies, multipart and CSV, with examples", async () => {
    // biome-ignore lint/suspicious/noExplicitAny: the JSON is asserted field by field
    const doc = (await (await fetch(`${url}/docs/json`)).json()) as any;
    const upload = doc.paths["/api/v1/datasets"].post.requestBody.content;
    expect(upload["multipart/form-data"].schema.properties.file).toMatchObject({
      type: "string",
      format: "binary",
    });
    expect(upload["multipart/form-data"].example.name).toBe("iris");
    expect(upload["text/csv"].example).toMatch(/^sepal_length,/);
    const seed = doc.paths["/upload"].post.requestBody.content["multipart/form-data"];
    expect(Object.keys(seed.schema.properties)).toEqual(["files", "user_id", "service"]);
    expect(seed.example.user_id).toBe("carol");
  });

  it("serves the Swagger UI page at /docs", async () => {
    const res = await fetch(`${url}/docs`, { redirect: "follow" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await res.text()).toContain("swagger-ui");
  });
});
