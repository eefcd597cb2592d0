import Type, { type Static, type TSchema } from "typebox";
import type { Clock } from "../clock.ts";
import {
  type FieldProblem,
  InvalidRequestError,
  TemplateConflictError,
  TemplateNotFoundError,
} from "../errors.ts";
import type { Bucket } from "../transport/ports.ts";
import { schemaProblems } from "../validation.ts";
import {
  type MergedSpec,
  mergeTemplates,
  namingTemplates,
  templateChain,
} from "./template-merge.ts";
import {
  BUILT_IN_TEMPLATES,
  describeParameters,
  TEMPLATE_ID,
  type TemplateCreate,
  TemplateCreateSchema,
  type TemplateRecord,
  type TemplateView,
} from "./template-spec.ts";

const encoder = new TextEncoder();
/** Spec fields that name one job's identity or place: a template cannot default them. */
const PER_JOB_FIELDS = ["idempotency_key", "depends_on", "dependencies", "template"] as const;
const decoder = new TextDecoder();

export const TemplateIdQuerySchema = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);
export const TemplateListQuerySchema = Type.Object(
  { category: Type.Optional(Type.String({ maxLength: 64 })) },
  { additionalProperties: false },
);

/** Checks a job body without templates (the one job schema): its problems. */
export type SpecCheck = (body: Record<string, unknown>) => FieldProblem[];

/**
 * Job templates (DESIGN §5.2): the built-in ones (in code: on every cluster, never deletable) and
 * those created (in the templates bucket, JSON). Merges a submit's template chain into a spec.
 */
export class TemplateService {
  readonly #bucket: Bucket;
  readonly #clock: Clock;
  readonly #check: SpecCheck;
  readonly #builtIn = new Map(BUILT_IN_TEMPLATES.map((t) => [t.id, t]));

  constructor(options: { bucket: Bucket; clock: Clock; check: SpecCheck }) {
    this.#bucket = options.bucket;
    this.#clock = options.clock;
    this.#check = options.check;
  }

  async list(body: unknown): Promise<{ templates: TemplateView[] }> {
    const { category } = check(TemplateListQuerySchema, body ?? {}, "template list query");
    const stored = await Promise.all(
      (await this.#bucket.keys()).sort().map((id) => this.#stored(id)),
    );
    const all = [...BUILT_IN_TEMPLATES, ...stored.filter((t) => t !== undefined)];
    const chosen = all.filter((t) => category === undefined || t.category === category);
    return { templates: await Promise.all(chosen.map((t) => this.#view(t))) };
  }

  async get(body: unknown): Promise<TemplateView> {
    const { id } = check(TemplateIdQuerySchema, body, "template query");
    const template = await this.#lookup(id);
    if (!template) throw new TemplateNotFoundError(id);
    return this.#view(template);
  }

  /**
   * Creates a template; refuses a taken name (409), an unknown base, a chain with a cycle or too
   * deep, and defaults that make an invalid spec (naming the field and the template that set it).
   */
  async create(body: unknown): Promise<TemplateView> {
    const input = check(TemplateCreateSchema, body, "template") as TemplateCreate;
    const perJob = PER_JOB_FIELDS.filter((field) => input.job && field in input.job);
    if (perJob.length > 0) {
      throw new InvalidRequestError(
        "template",
        perJob.map((field) => ({
          path: `/job/${field}`,
          message: "belongs to one job, not to a template (every job made from it would share it)",
        })),
      );
    }
    if (this.#builtIn.has(input.name)) {
      throw new TemplateConflictError(`template '${input.name}' is built in: choose another name`);
    }
    const record: TemplateRecord = {
      id: input.name,
      name: input.name,
      description: input.description ?? "",
      category: input.category ?? "custom",
      base_template: input.base_template ?? null,
      default_parameters: (input.default_parameters ?? {}) as Record<string, unknown>,
      resource_requirements: input.resource_requirements ?? {},
      job: (input.job ?? {}) as Record<string, unknown>,
      custom_parameters: (input.custom_parameters ?? {}) as Record<string, unknown>,
      built_in: false,
      created_at: new Date(this.#clock.now()).toISOString(),
    };
    const lookup = (id: string) => (id === record.id ? Promise.resolve(record) : this.#lookup(id));
    const chain = await templateChain(record.id, lookup, "/base_template");
    const merged = mergeTemplates(chain, {});
    if (
      merged.body.model_type !== undefined ||
      (merged.body.parameters as { algorithm?: unknown } | undefined)?.algorithm !== undefined
    ) {
      const problems = this.#check(merged.body);
      if (problems.length > 0)
        throw namingTemplates(new InvalidRequestError("template", problems), merged.setBy);
    }
    if (
      (await this.#bucket.create(record.id, encoder.encode(JSON.stringify(record)))) === undefined
    ) {
      throw new TemplateConflictError(`template '${record.id}' exists already`);
    }
    return this.#view(record);
  }

  /** Deletes a created template; refuses a built-in one and one that others build on. */
  async delete(body: unknown): Promise<{ deleted: string }> {
    const { id } = check(TemplateIdQuerySchema, body, "template delete request");
    if (this.#builtIn.has(id))
      throw new TemplateConflictError(`template '${id}' is built in: it cannot be deleted`);
    if (!(await this.#stored(id))) throw new TemplateNotFoundError(id);
    const stored = await Promise.all((await this.#bucket.keys()).map((key) => this.#stored(key)));
    const users = stored.filter((t) => t?.base_template === id).map((t) => t?.id);
    if (users.length > 0) {
      throw new TemplateConflictError(
        `template '${id}' is the base of ${users.join(", ")}: delete those first`,
      );
    }
    await this.#bucket.purge(id);
    return { deleted: id };
  }

  /**
   * A submit body with `template` merged with its chain (undefined without one); its problems
   * later name the template that set the field (`namingTemplates`).
   */
  async resolve(body: unknown, path = "/template"): Promise<MergedSpec | undefined> {
    if (typeof body !== "object" || body === null || Array.isArray(body) || !("template" in body)) {
      return undefined;
    }
    const request = body as Record<string, unknown>;
    if (typeof request.template !== "string") {
      throw new InvalidRequestError("job spec", [
        { path, message: "must be a template id (a string)" },
      ]);
    }
    const chain = await templateChain(request.template, (id) => this.#lookup(id), path);
    return mergeTemplates(chain, request);
  }

  async #view(template: TemplateRecord): Promise<TemplateView> {
    const chain = await templateChain(template.id, (id) =>
      id === template.id ? Promise.resolve(template) : this.#lookup(id),
    ).catch(() => [template]);
    const merged = mergeTemplates(chain, {});
    const parameters = (merged.body.parameters ?? {}) as Record<string, unknown>;
    return { ...template, parameters: describeParameters(parameters, merged.body) };
  }

  async #lookup(id: string): Promise<TemplateRecord | undefined> {
    return this.#builtIn.get(id) ?? (await this.#stored(id));
  }

  async #stored(id: string): Promise<TemplateRecord | undefined> {
    // A name no template may have is no template (and no key the bucket would take).
    if (!VALID_ID.test(id)) return undefined;
    const entry = await this.#bucket.get(id);
    return entry ? (JSON.parse(decoder.decode(entry.value)) as TemplateRecord) : undefined;
  }
}

const VALID_ID = new RegExp(TEMPLATE_ID);

function check<S extends TSchema>(schema: S, body: unknown, what: string): Static<S> {
  const problems = schemaProblems(schema, body);
  if (problems.length > 0) throw new InvalidRequestError(what, problems);
  return body as Static<S>;
}
