import { JetStreamApiError } from "@nats-io/jetstream";
import { errors } from "@nats-io/transport-node";
import type { Logger } from "../log.ts";
import { retrying } from "./retry.ts";

/** 10008 "JetStream system temporarily unavailable": a restarting server or an election. */
export const TEMPORARILY_UNAVAILABLE = 10008;

/** A NATS operation failed for now — no answer in time, or no connection — not for good. */
export class NatsUnavailableError extends Error {
  override readonly name = "NatsUnavailableError";
}

/**
 * Whether `error` says NATS is unreachable or slow right now (a restart, a partition, overload),
 * as opposed to a refusal that would repeat (a wrong revision, a bad request, a permission).
 */
export function isNatsUnavailable(error: unknown): boolean {
  return (
    error instanceof NatsUnavailableError ||
    error instanceof errors.TimeoutError ||
    // The client wraps a refused publish permission in a RequestError too.
    (error instanceof errors.RequestError &&
      !(error.cause instanceof errors.PermissionViolationError)) ||
    error instanceof errors.ClosedConnectionError ||
    error instanceof errors.DrainingConnectionError ||
    error instanceof errors.NoRespondersError ||
    (error instanceof JetStreamApiError && error.code === TEMPORARILY_UNAVAILABLE)
  );
}

export interface UntilNatsAnswersOptions {
  /** What the step does, for the log ("register the worker"). */
  step: string;
  log?: Logger | undefined;
  /** Ends the wait (a shutdown during start-up). */
  signal?: AbortSignal | undefined;
}

/**
 * Runs a start-up step until NATS answers it: a NATS restart or an election while a process
 * starts delays it, as one while it runs does, rather than stopping it. Any other failure, and a
 * closed connection (it never comes back), is thrown at once.
 */
export function untilNatsAnswers<T>(
  step: () => Promise<T>,
  options: UntilNatsAnswersOptions,
): Promise<T> {
  return retrying(step, {
    retryable: (error) =>
      isNatsUnavailable(error) && !(error instanceof errors.ClosedConnectionError),
    onRetry: (error, attempt, delayMs) =>
      options.log?.warn(
        { step: options.step, attempt, reason: (error as Error).message, delayMs },
        "NATS did not answer a start-up step; retrying",
      ),
    signal: options.signal,
  });
}
