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
