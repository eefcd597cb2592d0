import { JetStreamApiError } from "@nats-io/jetstream";
import { errors } from "@nats-io/transport-node";

/** 10008 "JetStream system temporarily unavailable": a restarting server or an election. */
export const TEMPORARILY_UNAVAILABLE = 10008;

/** A NATS operation failed for now — no answer in time, or no connection — not for good. */
export class NatsUnavailableError extends Error {
  override readonly name = "NatsUnavailableError";
}

/**
 * Whether `error` says NATS is unreachable or slow right now (a restart, a partition, overload),
 * as opposed to a refusal that would repeat (a wrong revision, a bad request).
 */
export function isNatsUnavailable(error: unknown): boolean {
  return (
    error instanceof NatsUnavailableError ||
    error instanceof errors.TimeoutError ||
    error instanceof errors.RequestError ||
    error instanceof errors.ClosedConnectionError ||
    error instanceof errors.DrainingConnectionError ||
    error instanceof errors.NoRespondersError ||
    (error instanceof JetStreamApiError && error.code === TEMPORARILY_UNAVAILABLE)
  );
}
