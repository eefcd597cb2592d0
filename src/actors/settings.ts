import { ActorOptionsError } from "../errors.ts";
import type { CellSettings } from "./actor-cell.ts";
import type { SpawnOptions } from "./behavior.ts";
import { DEFAULT_MAILBOX_SIZE } from "./mailbox.ts";

/** Defaults for every actor; see `SpawnOptions` and `ActorSystemOptions`. */
export const ACTOR_DEFAULTS = Object.freeze({
  /** Deep enough for bursts, small enough that a stuck actor shows up as errors, not memory. */
  mailboxSize: DEFAULT_MAILBOX_SIZE,
  /** Overflow is an error to the sender, never silent loss. */
  overflow: "reject" as const,
  /** Time for the in-flight message and `postStop` when stopping (OTP's default worker 5 s). */
  shutdownMs: 5_000,
  /** An `ask` waits this long for a reply by default. */
  askTimeoutMs: 5_000,
});

/** NATS-subject-safe tokens joined by dots, so a name is also `troupe.actor.<name>`. */
const NAME_PATTERN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** Validates an actor name; the error names the offending value. */
export function validateName(name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new ActorOptionsError(
      `name "${name}" is invalid: use letters, digits, "_" and "-", in tokens joined by "."`,
    );
  }
}

/** Checks spawn options and fills in defaults; the error names the option at fault. */
export function resolveSettings(
  options: SpawnOptions,
  extra: { label?: string; supervisor?: boolean },
): CellSettings {
  const { name, mailboxSize, overflow, shutdownMs } = options;
  if (name !== undefined) validateName(name);
  if (mailboxSize !== undefined && !(Number.isInteger(mailboxSize) && mailboxSize > 0)) {
    throw new ActorOptionsError(`mailboxSize must be a positive integer, got ${mailboxSize}`);
  }
  if (overflow !== undefined && overflow !== "reject" && overflow !== "drop-oldest") {
    throw new ActorOptionsError(`overflow must be "reject" or "drop-oldest", got "${overflow}"`);
  }
  if (shutdownMs !== undefined && !(shutdownMs >= 0)) {
    throw new ActorOptionsError(`shutdownMs must be a duration >= 0 (ms), got ${shutdownMs}`);
  }
  return {
    name,
    cluster: options.cluster === true,
    mailboxSize: mailboxSize ?? ACTOR_DEFAULTS.mailboxSize,
    dropOldest: overflow === "drop-oldest",
    shutdownMs: shutdownMs ?? ACTOR_DEFAULTS.shutdownMs,
    label: extra.label,
    supervisor: extra.supervisor === true,
  };
}
