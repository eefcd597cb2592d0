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

/** An error as it travels between threads and processes. */
export interface ErrorData {
  code: string;
  message: string;
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
