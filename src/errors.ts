/**
 * One coded error hierarchy. `code` is stable and documented; `statusCode` is what the HTTP door
 * answers and `serviceCode` what the NATS door puts in `Nats-Service-Error-Code`.
 */
export class TroupeError extends Error {
  readonly code: string;
  readonly statusCode: number;
  readonly serviceCode: number;

  constructor(
    code: string,
    message: string,
    options: { statusCode?: number; serviceCode?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.statusCode = options.statusCode ?? 500;
    this.serviceCode = options.serviceCode ?? this.statusCode;
  }

  /** Errors cross threads and processes as data: structured clone loses classes. */
  toJSON(): ErrorData {
    return { code: this.code, message: this.message };
  }
}

/** An error as it travels between threads and processes, and in a NATS error reply. */
export interface ErrorData {
  code: string;
  message: string;
  /** Every field at fault, for an invalid request. */
  errors?: FieldProblem[];
}

/** A configuration value (environment variable, flag) is missing or malformed. */
export class ConfigError extends TroupeError {
  /** The variable or option at fault, e.g. `TASK_TIMEOUT`. */
  readonly variable: string;

  constructor(variable: string, message: string) {
    super("TROUPE_ERR_CONFIG", message, { statusCode: 400 });
    this.variable = variable;
  }
}

// ---------------------------------------------------------------------------------------------
// Actor runtime and supervision (src/actors, src/supervisor)

/** An actor's bounded mailbox is full (overflow `reject`), or the message was pushed out by a
 * newer one (overflow `drop-oldest`). */
export class MailboxFullError extends TroupeError {
  constructor(message: string) {
    super("TROUPE_ERR_MAILBOX_FULL", message, { statusCode: 503 });
  }
}

/** An `ask` got no reply within its `timeoutMs`. */
export class AskTimeoutError extends TroupeError {
  constructor(message: string) {
    super("TROUPE_ERR_ASK_TIMEOUT", message, { statusCode: 504 });
  }
}

/** The actor is stopped, or stopped before it replied to this message. */
export class ActorStoppedError extends TroupeError {
  constructor(message: string) {
    super("TROUPE_ERR_ACTOR_STOPPED", message, { statusCode: 503 });
  }
}

/** The actor crashed (its handler threw) while handling this message; `cause` is what it threw. */
export class ActorCrashedError extends TroupeError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super("TROUPE_ERR_ACTOR_CRASHED", message, { statusCode: 500, cause: options.cause });
  }
}

/** Nobody serves this actor name, in this process or over the cluster: fails fast, no timeout. */
export class NoResponderError extends TroupeError {
  constructor(message: string) {
    super("TROUPE_ERR_NO_RESPONDER", message, { statusCode: 503 });
  }
}

/** An actor name is already registered in this actor system. */
export class ActorNameTakenError extends TroupeError {
  constructor(message: string) {
    super("TROUPE_ERR_ACTOR_NAME_TAKEN", message, { statusCode: 409 });
  }
}

/** A supervisor exceeded its restart intensity and gave up; `cause` is the last child failure.
 * At the root this is fatal: the process exits non-zero for its process manager to restart it. */
export class SupervisorEscalationError extends TroupeError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super("TROUPE_ERR_ESCALATED", message, { statusCode: 500, cause: options.cause });
  }
}

/** A child spec or option is invalid (duplicate child id, negative duration, …); names the field. */
export class ActorOptionsError extends TroupeError {
  constructor(message: string) {
    super("TROUPE_ERR_ACTOR_OPTIONS", message, { statusCode: 400 });
  }
}

/**
 * A training spec or task input is out of range. `field` is the JSON pointer of the value at fault,
 * e.g. `/hyperparameters/max_depth`.
 */
export class TrainingSpecError extends TroupeError {
  readonly field: string;

  constructor(field: string, message: string) {
    super("TROUPE_ERR_TRAINING_SPEC", `${field || "/"}: ${message}`, { statusCode: 400 });
    this.field = field;
  }
}

/** A training task was cancelled through its AbortSignal. Not retried. */
export class TrainingAbortedError extends TroupeError {
  constructor(message = "training task aborted", options: { cause?: unknown } = {}) {
    super("TROUPE_ERR_TRAINING_ABORTED", message, { statusCode: 409, ...options });
  }
}

/** A checkpoint cannot be decoded or belongs to another task spec. Restart without it. */
export class CheckpointError extends TroupeError {
  constructor(message: string) {
    super("TROUPE_ERR_CHECKPOINT_INVALID", message, { statusCode: 422 });
  }
}

/** Training failed inside a pool thread (a bug, or the thread died). Retryable. */
export class TrainingError extends TroupeError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super("TROUPE_ERR_TRAINING_FAILED", message, { statusCode: 500, ...options });
  }
}

/** The training pool is closed or its queue is full: back-pressure, try later. */
export class PoolUnavailableError extends TroupeError {
  constructor(message: string) {
    super("TROUPE_ERR_POOL_UNAVAILABLE", message, { statusCode: 503 });
  }
}

// ---------------------------------------------------------------------------------------------
// Requests at the doors (NATS API, HTTP, CLI) and the job pipeline

/** One field at fault: `path` is a JSON pointer such as `/retry_policy/max_attempts`. */
export interface FieldProblem {
  path: string;
  message: string;
}

/** A request body is malformed or breaks the schema; every problem names its field. */
export class InvalidRequestError extends TroupeError {
  readonly problems: readonly FieldProblem[];

  constructor(what: string, problems: readonly FieldProblem[]) {
    const list = problems.map((p) => `${p.path || "/"}: ${p.message}`).join("; ");
    super("TROUPE_ERR_INVALID_REQUEST", `invalid ${what}: ${list}`, { statusCode: 400 });
    this.problems = problems;
  }

  override toJSON(): ErrorData {
    return { ...super.toJSON(), errors: [...this.problems] };
  }
}

/** No job has this id. */
export class JobNotFoundError extends TroupeError {
  constructor(jobId: string) {
    super("TROUPE_ERR_JOB_NOT_FOUND", `no job with job_id '${jobId}'`, { statusCode: 404 });
  }
}

/** The job has already ended (COMPLETED, FAILED, CANCELLED or TIMEOUT): there is nothing to cancel. */
export class JobEndedError extends TroupeError {
  /** The state the job ended in. */
  readonly status: string;

  constructor(jobId: string, status: string) {
    super("TROUPE_ERR_JOB_ENDED", `job '${jobId}' has already ended: it is ${status}`, {
      statusCode: 409,
    });
    this.status = status;
  }
}

/** No worker has this id. */
export class WorkerNotFoundError extends TroupeError {
  constructor(workerId: string) {
    super("TROUPE_ERR_WORKER_NOT_FOUND", `no worker with worker_id '${workerId}'`, {
      statusCode: 404,
    });
  }
}

/** A request body is larger than the limit (NATS max_payload, HTTP body limit). */
export class PayloadTooLargeError extends TroupeError {
  constructor(bytes: number, limit: number) {
    super("TROUPE_ERR_PAYLOAD_TOO_LARGE", `payload of ${bytes} bytes exceeds ${limit} bytes`, {
      statusCode: 413,
    });
  }
}

/** A state change the transition table (src/jobs/job-state.ts) does not allow: a bug. */
export class InvalidTransitionError extends TroupeError {
  constructor(kind: "job" | "task", from: string, to: string) {
    super("TROUPE_ERR_INVALID_TRANSITION", `invalid ${kind} transition ${from} → ${to}`);
  }
}

/**
 * A client of the public subjects (the `troupe` CLI) cannot reach Troupe: NATS does not answer or
 * refuses the credentials, the connection was lost, or no `troupe` process answers the request.
 */
export class NatsUnreachableError extends TroupeError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super("TROUPE_ERR_NATS_UNREACHABLE", message, { statusCode: 503, ...options });
  }
}

// ---------------------------------------------------------------------------------------------
// The HTTP door (src/http)

/** The request lacks `Authorization: Bearer <TROUPE_API_TOKEN>`, or names another token. */
export class UnauthorizedError extends TroupeError {
  constructor(message = "missing or invalid bearer token") {
    super("TROUPE_ERR_UNAUTHORIZED", message, { statusCode: 401 });
  }
}

/** The client sent more than RATE_LIMIT_PER_MIN requests within a minute. */
export class RateLimitedError extends TroupeError {
  constructor(limitPerMin: number, retryAfter: string) {
    super(
      "TROUPE_ERR_RATE_LIMITED",
      `more than ${limitPerMin} requests per minute; retry in ${retryAfter}`,
      { statusCode: 429 },
    );
  }
}

/** This process cannot serve requests now (NATS disconnected or its streams missing). */
export class NotReadyError extends TroupeError {
  constructor(message: string) {
    super("TROUPE_ERR_NOT_READY", message, { statusCode: 503 });
  }
}

/** No HTTP route matches the method and path. */
export class RouteNotFoundError extends TroupeError {
  constructor(method: string, path: string) {
    super("TROUPE_ERR_ROUTE_NOT_FOUND", `no route ${method} ${path}`, { statusCode: 404 });
  }
}

// ---------------------------------------------------------------------------------------------
// Data sets and artifacts (src/artifacts)

/** An uploaded file is not a usable data set; the message names the line and column at fault. */
export class DatasetInvalidError extends TroupeError {
  constructor(message: string) {
    super("TROUPE_ERR_DATASET_INVALID", message, { statusCode: 400 });
  }
}

/** An upload larger than MAX_DATASET_BYTES: refused, nothing stored. */
export class DatasetTooLargeError extends TroupeError {
  constructor(limit: number) {
    super(
      "TROUPE_ERR_DATASET_TOO_LARGE",
      `the upload exceeds MAX_DATASET_BYTES (${limit} bytes); nothing was stored`,
      { statusCode: 413 },
    );
  }
}

export class DatasetNotFoundError extends TroupeError {
  constructor(datasetId: string) {
    super("TROUPE_ERR_DATASET_NOT_FOUND", `no data set with dataset_id '${datasetId}'`, {
      statusCode: 404,
    });
  }
}

/** A data set cannot be stored or removed as asked (it exists, or jobs still use it). */
export class DatasetConflictError extends TroupeError {
  constructor(message: string) {
    super("TROUPE_ERR_DATASET_CONFLICT", message, { statusCode: 409 });
  }
}

export class ArtifactNotFoundError extends TroupeError {
  constructor(message: string) {
    super("TROUPE_ERR_ARTIFACT_NOT_FOUND", message, { statusCode: 404 });
  }
}

/** A model is asked of a job that has none (yet): not completed, or cleaned up. */
export class ModelUnavailableError extends TroupeError {
  constructor(message: string) {
    super("TROUPE_ERR_MODEL_UNAVAILABLE", message, { statusCode: 409 });
  }
}
/** A queue operation on a job whose state does not allow it: 409 naming both states. */
export class JobStateConflictError extends TroupeError {
  constructor(jobId: string, operation: string, status: string, allowed: readonly string[]) {
    super(
      "TROUPE_ERR_JOB_STATE",
      `cannot ${operation} job '${jobId}': it is ${status}, and only a job that is ${allowed.join(" or ")} can be`,
      { statusCode: 409 },
    );
  }
}
