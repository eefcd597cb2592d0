import type { Static, TSchema } from "typebox";
import { Compile, type Validator } from "typebox/compile";
import Value from "typebox/value";
import { type FieldProblem, InvalidRequestError } from "./errors.ts";

/**
 * The problems of `value` against `schema`, one per field, each naming the field by JSON pointer
 * (prefixed with `prefix`) in words a user can act on: "unknown field", "must be >= 1",
 * "must be one of urgent, high, normal, low".
 */
export function schemaProblems(schema: TSchema, value: unknown, prefix = ""): FieldProblem[] {
  if (compiled(schema).Check(value)) return [];
  const problems = new Map<string, string>();
  for (const error of Value.Errors(schema, value)) {
    const path = `${prefix}${error.instancePath}`;
    if (problems.has(path)) continue;
    if (error.keyword === "additionalProperties") continue; // each unknown key is reported below
    if (error.keyword === "boolean") {
      problems.set(path, "unknown field");
    } else if (
      error.schemaPath.includes("/anyOf/") ||
      error.keyword === "anyOf" ||
      error.keyword === "enum"
    ) {
      problems.set(path, describeChoice(schemaAt(schema, error.instancePath)) ?? error.message);
    } else if (error.keyword === "required") {
      const missing = (error.params as { requiredProperties?: string[] }).requiredProperties ?? [];
      for (const name of missing) problems.set(`${path}/${name}`, "is required");
    } else {
      problems.set(path, error.message);
    }
  }
  return [...problems].map(([path, message]) => ({ path, message }));
}

/** Schemas compiled once, on first use: a valid value (the common case) costs one compiled check. */
const validators = new WeakMap<TSchema, Validator>();

function compiled(schema: TSchema): Validator {
  let validator = validators.get(schema);
  if (!validator) {
    validator = Compile(schema);
    validators.set(schema, validator);
  }
  return validator;
}

interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  anyOf?: SchemaNode[];
  enum?: unknown[];
  const?: unknown;
  description?: string;
}

function schemaAt(schema: TSchema, pointer: string): SchemaNode | undefined {
  let node: SchemaNode | undefined = schema as SchemaNode;
  for (const key of pointer.split("/").slice(1)) {
    // An array's element (`/steps/1/…`) is described by its items schema.
    node = node?.items && /^\d+$/.test(key) ? node.items : node?.properties?.[key];
  }
  return node;
}

function describeChoice(node: SchemaNode | undefined): string | undefined {
  if (!node) return undefined;
  const options = node.enum ?? node.anyOf?.map((option) => option.const ?? option.description);
  if (options?.every((option) => option !== undefined)) {
    return `must be one of ${options.map((option) => JSON.stringify(option)).join(", ")}`;
  }
  return node.description ? `must be ${node.description}` : undefined;
}

/** `body` as the schema's type, or an InvalidRequestError naming `what` and each field at fault. */
export function checkRequest<S extends TSchema>(schema: S, body: unknown, what: string): Static<S> {
  const problems = schemaProblems(schema, body);
  if (problems.length > 0) throw new InvalidRequestError(what, problems);
  return body as Static<S>;
}
