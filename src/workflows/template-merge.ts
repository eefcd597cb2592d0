import { type FieldProblem, InvalidRequestError } from "../errors.ts";
import { MAX_TEMPLATE_DEPTH, type TemplateRecord } from "./template-spec.ts";

type Body = Record<string, unknown>;
const isObject = (value: unknown): value is Body =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * A template and its bases, root first. Refuses an unknown template, a chain with a cycle (as a
 * path) or deeper than MAX_TEMPLATE_DEPTH, naming `path`.
 */
export async function templateChain(
  id: string,
  lookup: (id: string) => Promise<TemplateRecord | undefined>,
  path = "/template",
): Promise<TemplateRecord[]> {
  const chain: TemplateRecord[] = [];
  const seen: string[] = [];
  for (let at: string | null = id; at !== null; ) {
    if (seen.includes(at))
      throw refused(path, `template chain has a cycle: ${[...seen, at].join(" → ")}`);
    if (seen.length === MAX_TEMPLATE_DEPTH) {
      throw refused(
        path,
        `template chain is deeper than ${MAX_TEMPLATE_DEPTH}: ${seen.join(" → ")} → …`,
      );
    }
    seen.push(at);
    const template = await lookup(at);
    if (!template) {
      const whose = seen.length > 1 ? ` (base of '${seen[seen.length - 2]}')` : "";
      throw refused(path, `no template '${at}'${whose}`);
    }
    chain.unshift(template);
    at = template.base_template;
  }
  return chain;
}

function refused(path: string, message: string): InvalidRequestError {
  return new InvalidRequestError("template", [{ path, message }]);
}

/** A spec merged from a template chain and a request, and which template set each field. */
export interface MergedSpec {
  body: Body;
  /** JSON pointer (as the merged body writes it) → the template that set it. */
  setBy: Map<string, string>;
}

/**
 * Merges a chain (root first) and a request `{template, parameters, …}` into one job spec body,
 * each later one overriding: the templates' `job` fields, `default_parameters` (seed 001's
 * parameters envelope; `hyperparameters` merged key by key) and `resource_requirements`, then the
 * request's fields, parameters and resources. A request naming `model_type` itself overrides a
 * template's `algorithm`. Pure.
 */
export function mergeTemplates(chain: readonly TemplateRecord[], request: Body): MergedSpec {
  const setBy = new Map<string, string>();
  const spec: Body = {};
  const parameters: Body = {};
  const resources: Body = {};
  const hyper: Body = {};
  const put = (target: Body, key: string, value: unknown, pointer: string, by?: string) => {
    target[key] = value;
    if (by) setBy.set(pointer, by);
    else setBy.delete(pointer);
  };
  const putParameters = (given: unknown, by?: string) => {
    if (!isObject(given)) return;
    for (const [key, value] of Object.entries(given)) {
      if (key === "hyperparameters" && isObject(value)) {
        for (const [name, v] of Object.entries(value)) {
          put(hyper, name, v, `/parameters/hyperparameters/${name}`, by);
        }
      } else put(parameters, key, value, `/parameters/${key}`, by);
    }
  };
  for (const template of chain) {
    for (const [key, value] of Object.entries(template.job))
      put(spec, key, value, `/${key}`, template.id);
    putParameters(template.default_parameters, template.id);
    for (const [key, value] of Object.entries(template.resource_requirements)) {
      put(resources, key, value, `/resources/${key}`, template.id);
    }
  }
  const { template: _template, parameters: given, resources: ownResources, ...fields } = request;
  for (const [key, value] of Object.entries(fields)) put(spec, key, value, `/${key}`);
  putParameters(given);
  if (isObject(ownResources)) {
    for (const [key, value] of Object.entries(ownResources))
      put(resources, key, value, `/resources/${key}`);
  } else if (ownResources !== undefined) spec.resources = ownResources;
  if (fields.model_type !== undefined && setBy.has("/parameters/algorithm")) {
    delete parameters.algorithm;
  }
  if (Object.keys(hyper).length > 0) parameters.hyperparameters = hyper;
  const body: Body = { ...spec };
  if (Object.keys(parameters).length > 0) body.parameters = parameters;
  if (Object.keys(resources).length > 0 && body.resources === undefined) body.resources = resources;
  return { body, setBy };
}

/** The same refusal, each problem in a field a template set saying which template set it. */
export function namingTemplates(
  error: InvalidRequestError,
  setBy: ReadonlyMap<string, string>,
): InvalidRequestError {
  if (setBy.size === 0) return error;
  const problems: FieldProblem[] = error.problems.map((problem) => {
    let best = "";
    for (const pointer of setBy.keys()) {
      const within = problem.path === pointer || problem.path.startsWith(`${pointer}/`);
      if (within && pointer.length > best.length) best = pointer;
    }
    if (best === "") return problem;
    return { ...problem, message: `${problem.message} (set by template '${setBy.get(best)}')` };
  });
  return new InvalidRequestError("job spec", problems);
}
