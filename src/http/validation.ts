import type { FastifySchemaCompiler } from "fastify";
import type { TSchema } from "typebox";
import Value from "typebox/value";
import { InvalidRequestError } from "../errors.ts";
import { schemaProblems } from "../validation.ts";

const PART_NAMES: Readonly<Record<string, string>> = {
  body: "request body",
  querystring: "query string",
  params: "path parameters",
  headers: "headers",
};

/**
 * Fastify's validator compiler, on the same checker as the gateway and the NATS door: a failure is
 * an InvalidRequestError whose problems name each field (`/limit: must be <= 1000`). The query
 * string and path parameters arrive as text, so they are converted to the schema's types first.
 */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const what = PART_NAMES[httpPart ?? "body"] ?? "request";
  const convert = httpPart === "querystring" || httpPart === "params";
  return (data: unknown) => {
    const value = convert ? Value.Convert(schema, Value.Clone(data)) : data;
    const problems = schemaProblems(schema, value);
    if (problems.length > 0) return { error: new InvalidRequestError(what, problems) };
    return { value };
  };
};

/**
 * For routes whose body the gateway validates itself (submit, batch): the body schema is there for
 * OpenAPI only, so the one check — with the training-specific messages — runs once, in the gateway.
 */
export const gatewayValidatesBody: FastifySchemaCompiler<TSchema> = (route) =>
  route.httpPart === "body" ? (data: unknown) => ({ value: data }) : validatorCompiler(route);
