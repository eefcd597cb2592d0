/**
 * Every name Troupe accepts from a seed service beside its own, in one place: the job spec's
 * aliases (resolved into the one schema by `src/jobs/spec-aliases.ts`, for every door), the
 * environment's (by `src/config.ts`), the log levels' and the HTTP routes'. The README's
 * "Coming from …" tables and OpenAPI show these lists; tests hold each of them to what it says.
 *
 * The seeds: 000 the orchestrator, 001 the job orchestrator, 002 the WeNMR orchestrator,
 * 003 the YAML orchestrator, 004 the worker.
 */

export type Seed = "000" | "001" | "002" | "003" | "004";

/** A name a seed uses for something Troupe calls otherwise. */
export interface Alias {
  readonly alias: string;
  readonly canonical: string;
  readonly seed: Seed;
  /** How the value changes on the way, when it does. */
  readonly note?: string;
}

/**
 * Job spec fields, as JSON pointers into the submitted body. `parameters` is seed 001's envelope:
 * its other keys are hyperparameters (`{"algorithm": "svm", "C": 1.0}`).
 */
export const SPEC_ALIASES: readonly Alias[] = Object.freeze([
  { alias: "/parameters/algorithm", canonical: "/model_type", seed: "001" },
  { alias: "/parameters/dataset_name", canonical: "/dataset/dataset_id", seed: "001" },
  {
    alias: "/parameters/dataset",
    canonical: "/dataset/dataset_id",
    seed: "001",
    note: "its workflow example's file name (raw_data.csv): an uploaded data set of that name",
  },
  { alias: "/parameters/test_split", canonical: "/dataset/test_fraction", seed: "001" },
  { alias: "/parameters/target_column", canonical: "/dataset/target_column", seed: "001" },
  { alias: "/parameters/hyperparameters", canonical: "/hyperparameters", seed: "001" },
  {
    alias: "/parameters/<name>",
    canonical: "/hyperparameters/<name>",
    seed: "001",
    note: "any other key of parameters is a hyperparameter",
  },
  { alias: "/dependencies", canonical: "/depends_on", seed: "001" },
  {
    alias: "/retry_policy/retry_delay",
    canonical: "/retry_policy/backoff_ms",
    seed: "001",
    note: "seconds; backoff_ms = retry_delay × 1000",
  },
]);

/**
 * Hyperparameter names, wherever a hyperparameter may be given (`hyperparameters`, or seed 001's
 * `parameters`). `max_epochs` is the spec's `epochs`, which is not a hyperparameter in Troupe.
 */
export const HYPERPARAMETER_ALIASES: readonly Alias[] = Object.freeze([
  { alias: "n_estimators", canonical: "n_trees", seed: "001" },
  { alias: "max_epochs", canonical: "/epochs", seed: "001" },
  { alias: "C", canonical: "c", seed: "001", note: "svm" },
]);

/** Environment variables (seed 003's names; the values have the same meaning). */
export const ENV_ALIASES: readonly Alias[] = Object.freeze([
  { alias: "ORCHESTRATOR_TOKEN", canonical: "TROUPE_API_TOKEN", seed: "003" },
  {
    alias: "HEARTBEAT_TTL_SEC",
    canonical: "WORKER_TIMEOUT",
    seed: "003",
    note: "plain seconds, as every duration accepts",
  },
]);

/** Log level names of Python's `logging` (seed 003), in any case like every level name. */
export const LOG_LEVEL_ALIASES: readonly Alias[] = Object.freeze([
  { alias: "warning", canonical: "warn", seed: "003" },
  { alias: "critical", canonical: "fatal", seed: "003" },
]);

/** HTTP routes: the alias answers what the canonical route answers (or the seed's shape of it). */
export const ROUTE_ALIASES: readonly Alias[] = Object.freeze([
  {
    alias: "GET /workers",
    canonical: "GET /api/v1/workers",
    seed: "003",
    note: "the list of workers alone, as seed 003 answers it",
  },
  { alias: "GET /workers/:id", canonical: "GET /api/v1/workers/:id", seed: "003" },
  { alias: "POST /admin/cleanup", canonical: "POST /api/v1/admin/cleanup", seed: "003" },
  { alias: "GET /swagger-ui/", canonical: "GET /docs", seed: "002", note: "a redirect" },
  { alias: "GET /swagger", canonical: "GET /docs", seed: "002", note: "a redirect" },
]);
