import { describe, expect, it } from "vitest";
import * as errors from "../src/errors.ts";

// One instance of every coded error, built the way the code builds it.
const instances: errors.TroupeError[] = [
  new errors.ConfigError("PORT", "bad"),
  new errors.MailboxFullError("full"),
  new errors.AskTimeoutError("late"),
  new errors.ActorStoppedError("stopped"),
  new errors.ActorCrashedError("crashed"),
  new errors.NoResponderError("nobody"),
  new errors.ActorNameTakenError("taken"),
  new errors.SupervisorEscalationError("gave up"),
  new errors.ActorOptionsError("bad option"),
  new errors.TrainingSpecError("/epochs", "too many"),
  new errors.TrainingAbortedError(),
  new errors.CheckpointError("corrupt"),
  new errors.TrainingError("diverged"),
  new errors.PoolUnavailableError("busy"),
  new errors.InvalidRequestError("job spec", [{ path: "/tasks", message: "must be integer" }]),
  new errors.JobNotFoundError("job_x"),
  new errors.JobEndedError("job_x", "COMPLETED"),
  new errors.JobStateConflictError("job_x", "reorder", "RUNNING", ["QUEUED"]),
  new errors.WorkerNotFoundError("w"),
  new errors.PayloadTooLargeError(2, 1),
  new errors.InvalidTransitionError("job", "QUEUED", "COMPLETED"),
  new errors.NatsUnreachableError("no NATS"),
  new errors.UnauthorizedError(),
  new errors.RateLimitedError(600, "60"),
  new errors.NotReadyError("NATS down"),
  new errors.RouteNotFoundError("GET", "/nope"),
  new errors.DatasetInvalidError("line 2: bad"),
  new errors.DatasetTooLargeError(1024),
  new errors.DatasetNotFoundError("iris2"),
  new errors.DatasetConflictError("in use"),
  new errors.ArtifactNotFoundError("none"),
  new errors.ModelUnavailableError("not completed"),
];

describe("the coded error table", () => {
  it("covers every error class the module exports", () => {
    const classes = Object.values(errors).filter(
      (value): value is typeof errors.TroupeError =>
        typeof value === "function" && value.prototype instanceof errors.TroupeError,
    );
    expect(new Set(instances.map((e) => e.constructor))).toEqual(new Set(classes));
  });

  it("gives every error a unique, stable TROUPE_ERR_ code", () => {
    const codes = instances.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(/^TROUPE_ERR_[A-Z_]+$/);
  });

  it("names each error after its class, and maps it to an HTTP status", () => {
    for (const error of instances) {
      expect(error.name).toBe(error.constructor.name);
      expect(error.statusCode).toBeGreaterThanOrEqual(400);
      expect(error.statusCode).toBeLessThan(600);
    }
  });

  it("crosses threads and processes as { code, message } data", () => {
    const error = new errors.JobNotFoundError("job_x");
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      code: "TROUPE_ERR_JOB_NOT_FOUND",
      message: "no job with job_id 'job_x'",
    });
  });
});
