/**
 * Resolves the seed services' names in a submitted job spec into Troupe's one schema, before it
 * is validated: every door (HTTP JSON and YAML, NATS, batch) goes through `parseJobSpec`, which
 * calls this, so each accepts them the same way. The aliases are listed in contract/aliases.ts.
 */
import { HYPERPARAMETER_ALIASES, SPEC_ALIASES } from "../contract/aliases.ts";
import type { FieldError } from "../training/training-spec.ts";

export interface ResolvedAliases {
  /** The body with every alias moved to its canonical place (the input is not modified). */
  body: unknown;
  /** Problems of the aliases themselves (a value given twice, differently; a wrong shape). */
  problems: FieldError[];
  /** Where each moved value was written: canonical pointer → the pointer the sender used. */
  written: Map<string, string>;
}

type Body = Record<string, unknown>;

const HYPERPARAMETER_OF = new Map(HYPERPARAMETER_ALIASES.map((a) => [a.alias, a.canonical]));
/** Keys of seed 001's `parameters` that are not hyperparameters: name → canonical pointer. */
const PARAMETER_FIELDS: ReadonlyMap<string, string> = new Map(
  SPEC_ALIASES.filter(
    (a) =>
      a.alias.startsWith("/parameters/") &&
      !a.alias.includes("<") &&
      a.canonical !== "/hyperparameters",
  ).map((a) => [a.alias.slice("/parameters/".length), a.canonical]),
);

const isObject = (value: unknown): value is Body =>
  typeof value === "object" && value !== null && !Array.isArray(value);

export function resolveSpecAliases(input: unknown): ResolvedAliases {
  const problems: FieldError[] = [];
  const written = new Map<string, string>();
  if (!isObject(input)) return { body: input, problems, written };
  const body: Body = { ...input };
  // Nested objects are copied once, when first written to: the caller's are never modified.
  const copied = new Set<string>();
  const objectAt = (key: string): Body | undefined => {
    if (body[key] === undefined) body[key] = {};
    const value = body[key];
    if (!isObject(value)) return undefined;
    if (!copied.has(key)) {
      body[key] = { ...value };
      copied.add(key);
    }
    return body[key] as Body;
  };

  /** Puts `value` at canonical `to` (a pointer of one or two tokens), written at `from`. */
  const place = (to: string, value: unknown, from: string) => {
    const [, first = "", second] = to.split("/");
    const parent = second === undefined ? body : objectAt(first);
    const key = second ?? first;
    if (parent === undefined) {
      problems.push({ path: `/${first}`, message: "must be an object" });
      return;
    }
    const existing = Object.hasOwn(parent, key) ? parent[key] : undefined;
    if (existing !== undefined && !sameValue(existing, value)) {
      const alias = from === to ? (written.get(to) ?? from) : from;
      problems.push({
        path: alias,
        message: `${to} is given twice, with different values: give one (${alias} is another name for ${to})`,
      });
      return;
    }
    // Defined, not assigned: a key such as __proto__ stays a plain field for the schema to refuse.
    Object.defineProperty(parent, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
    if (from !== to) written.set(to, from);
  };

  if (isObject(body.hyperparameters)) {
    const given = body.hyperparameters;
    body.hyperparameters = {};
    copied.add("hyperparameters");
    for (const [name, value] of Object.entries(given)) {
      placeHyper(name, value, `/hyperparameters/${name}`);
    }
  }

  if (body.parameters !== undefined) {
    const parameters = body.parameters;
    delete body.parameters;
    if (!isObject(parameters)) {
      problems.push({ path: "/parameters", message: "must be an object" });
    } else {
      for (const [key, value] of Object.entries(parameters)) {
        const from = `/parameters/${key}`;
        const field = PARAMETER_FIELDS.get(key);
        if (field !== undefined) place(field, value, from);
        else if (key === "hyperparameters") {
          if (!isObject(value)) problems.push({ path: from, message: "must be an object" });
          else
            for (const [name, v] of Object.entries(value)) placeHyper(name, v, `${from}/${name}`);
        } else placeHyper(key, value, from);
      }
    }
  }

  if (body.dependencies !== undefined) {
    const dependencies = body.dependencies;
    delete body.dependencies;
    place("/depends_on", dependencies, "/dependencies");
  }

  if (isObject(body.retry_policy) && body.retry_policy.retry_delay !== undefined) {
    const { retry_delay: delay, ...policy } = body.retry_policy;
    body.retry_policy = policy;
    if (typeof delay !== "number" || !(delay >= 0) || delay > 3600) {
      problems.push({
        path: "/retry_policy/retry_delay",
        message: "must be a number of seconds from 0 to 3600",
      });
    } else {
      place("/retry_policy/backoff_ms", Math.round(delay * 1000), "/retry_policy/retry_delay");
    }
  }
  return { body, problems, written };

  /** A hyperparameter under its canonical name (or `epochs`, for max_epochs). */
  function placeHyper(name: string, value: unknown, from: string): void {
    const canonical = HYPERPARAMETER_OF.get(name) ?? name;
    place(canonical.startsWith("/") ? canonical : `/hyperparameters/${canonical}`, value, from);
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
