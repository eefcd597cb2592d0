import Type, { type Static, type TSchema } from "typebox";
import { ParametersSchema, ResourcesSchema } from "../jobs/job-spec.ts";
import { HyperparameterSchemas } from "../training/hyperparameters.ts";
import { MODEL_TYPES } from "../training/limits.ts";

export const TEMPLATE_ID = "^[A-Za-z0-9_-]{1,64}$";
/** Longest chain of base templates (a template and its bases). */
export const MAX_TEMPLATE_DEPTH = 8;

/** `POST /api/v1/templates` and `troupe.templates.create` (seed 001's shape). */
export const TemplateCreateSchema = Type.Object(
  {
    name: Type.String({ pattern: TEMPLATE_ID, description: "Also its id." }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    category: Type.Optional(Type.String({ maxLength: 64 })),
    base_template: Type.Optional(
      Type.String({ pattern: TEMPLATE_ID, description: "A template this one builds on." }),
    ),
    default_parameters: Type.Optional(
      Type.Object(
        {},
        {
          additionalProperties: true,
          description:
            "Seed 001's parameters (algorithm, dataset_name, hyperparameters, or a hyperparameter by name), over its base's; a submit's parameters override them.",
        },
      ),
    ),
    resource_requirements: Type.Optional(ResourcesSchema),
    job: Type.Optional(
      Type.Object(
        {},
        {
          additionalProperties: true,
          description:
            "Any other job spec field's default (epochs, tasks, priority, timeout_s, …).",
        },
      ),
    ),
    custom_parameters: Type.Optional(
      Type.Object(
        {},
        {
          additionalProperties: true,
          description: "Kept with the template for its users; not part of the job spec.",
        },
      ),
    ),
  },
  {
    additionalProperties: false,
    examples: [
      {
        name: "custom_training_template",
        description: "Custom training workflow",
        base_template: "random_forest",
        custom_parameters: {
          preprocessing_steps: ["normalize", "feature_selection"],
          validation_strategy: "cross_validation",
        },
      },
    ],
  },
);
export type TemplateCreate = Static<typeof TemplateCreateSchema>;

/** One parameter a template takes, generated from the job schema (never written by hand). */
export interface ParameterDescriptor {
  name: string;
  type: string;
  required: boolean;
  options?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  description?: string;
}

/** A template as stored and as every door returns it. */
export interface TemplateRecord {
  id: string;
  name: string;
  description: string;
  category: string;
  base_template: string | null;
  default_parameters: Record<string, unknown>;
  resource_requirements: Record<string, unknown>;
  job: Record<string, unknown>;
  custom_parameters: Record<string, unknown>;
  built_in: boolean;
  created_at: string | null;
}

/** The template with its parameters described (what a list or get answers). */
export type TemplateView = TemplateRecord & { parameters: ParameterDescriptor[] };

/** Built in on every cluster, not deletable: one per model type, and hyperparameter tuning. */
export const BUILT_IN_TEMPLATES: readonly TemplateRecord[] = Object.freeze([
  ...MODEL_TYPES.map((model) =>
    builtIn(model, `Train a ${model.replace(/_/g, " ")} model`, "machine_learning", {
      algorithm: model,
    }),
  ),
  builtIn(
    "hyperparameter_tuning",
    "One trial of a hyperparameter search: name the algorithm and the hyperparameters to try",
    "hyperparameter_tuning",
    {},
    { tasks: 2 },
  ),
]);

function builtIn(
  id: string,
  description: string,
  category: string,
  defaults: Record<string, unknown>,
  job: Record<string, unknown> = {},
): TemplateRecord {
  return {
    id,
    name: id,
    description,
    category,
    base_template: null,
    default_parameters: defaults,
    resource_requirements: {},
    job,
    custom_parameters: {},
    built_in: true,
    created_at: null,
  };
}

/**
 * The parameters a template chain takes, from the job schema: seed 001's parameters envelope
 * (ParametersSchema) and, once the chain names an algorithm, that model's hyperparameters
 * (HyperparameterSchemas), each with its type, bounds and default (the chain's, else the
 * schema's). `algorithm` is required unless the chain sets one.
 */
export function describeParameters(
  defaults: Readonly<Record<string, unknown>>,
  job: Readonly<Record<string, unknown>>,
): ParameterDescriptor[] {
  const algorithm = (defaults.algorithm ?? job.model_type) as string | undefined;
  const envelope = Object.entries(ParametersSchema.properties).map(([name, schema]) =>
    describe(
      name,
      schema as TSchema,
      name === "algorithm" && algorithm === undefined,
      defaults[name],
    ),
  );
  const model = HyperparameterSchemas[algorithm as keyof typeof HyperparameterSchemas];
  if (!model) return envelope;
  const given = { ...(defaults.hyperparameters as object | undefined), ...defaults };
  const hyper = Object.entries(model.properties).map(([name, schema]) =>
    describe(name, schema as TSchema, false, (given as Record<string, unknown>)[name]),
  );
  return [...envelope, ...hyper];
}

interface SchemaNode {
  type?: string;
  enum?: unknown[];
  anyOf?: { const?: unknown }[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  description?: string;
}

function describe(
  name: string,
  schema: TSchema,
  required: boolean,
  value: unknown,
): ParameterDescriptor {
  const node = schema as SchemaNode;
  const options = node.enum ?? node.anyOf?.map((o) => o.const).filter((c) => c !== undefined);
  const descriptor: ParameterDescriptor = { name, type: node.type ?? "string", required };
  if (options && options.length > 0) descriptor.options = options;
  const fallback = value ?? node.default;
  if (fallback !== undefined) descriptor.default = fallback;
  const minimum = node.minimum ?? node.exclusiveMinimum;
  if (minimum !== undefined) descriptor.minimum = minimum;
  if (node.maximum !== undefined) descriptor.maximum = node.maximum;
  if (node.description) descriptor.description = node.description;
  return descriptor;
}
