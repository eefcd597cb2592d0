import { resolveSettings } from "../actors/settings.ts";
import { ActorOptionsError } from "../errors.ts";
import type { BackoffPolicy } from "./backoff.ts";
import type { AnyChildSpec, ChildSpec, RestartType } from "./child-spec.ts";
import type { IntensityPolicy } from "./intensity.ts";
import { STRATEGIES, type Strategy } from "./strategy.ts";

export interface SupervisorOptions {
  /** Registers the supervisor under this name; also the root of its children's paths. */
  name?: string;
  /** @default "one_for_one" */
  strategy?: Strategy;
  /** More restarts than this within `periodMs` and the supervisor escalates. @default 3 (OTP) */
  maxRestarts?: number;
  /** @default 5_000 (OTP's 5 s) */
  periodMs?: number;
  /** First restart delay. @default 100 — enough to not spin on a failing dependency. */
  minBackoffMs?: number;
  /** Delay cap. @default 10_000 */
  maxBackoffMs?: number;
  /** Fraction of each delay taken off at random, so restarts do not align. @default 0.2 */
  backoffJitter?: number;
  /** A child quiet this long since its last restart starts back at `minBackoffMs`. @default 30_000 */
  backoffResetMs?: number;
  /** Budget for the supervisor's own in-flight work and `postStop` (children have theirs). @default 5_000 */
  shutdownMs?: number;
  /** Started in order at start and at every restart of the supervisor. */
  children?: AnyChildSpec[];
}

/** A supervisor nested under another one: its child spec fields plus its own options. */
export interface SupervisorChildOptions extends Omit<SupervisorOptions, "name"> {
  id: string;
  /** @default "permanent" */
  restart?: RestartType;
  name?: string;
}

export interface ResolvedSupervisorOptions extends IntensityPolicy, BackoffPolicy {
  strategy: Strategy;
  children: readonly AnyChildSpec[];
}

export const SUPERVISOR_DEFAULTS = Object.freeze({
  strategy: "one_for_one" as Strategy,
  maxRestarts: 3,
  periodMs: 5_000,
  minBackoffMs: 100,
  maxBackoffMs: 10_000,
  backoffJitter: 0.2,
  backoffResetMs: 30_000,
});

const RESTART_TYPES: readonly RestartType[] = ["permanent", "transient", "temporary"];

/** Validates options and fills in defaults; errors name the option at fault. */
export function resolveSupervisorOptions(options: SupervisorOptions): ResolvedSupervisorOptions {
  const d = SUPERVISOR_DEFAULTS;
  const strategy = options.strategy ?? d.strategy;
  if (!STRATEGIES.includes(strategy)) {
    throw new ActorOptionsError(
      `strategy must be one of ${STRATEGIES.join(", ")}, got "${strategy}"`,
    );
  }
  const resolved: ResolvedSupervisorOptions = {
    strategy,
    maxRestarts: count("maxRestarts", options.maxRestarts ?? d.maxRestarts),
    periodMs: duration("periodMs", options.periodMs ?? d.periodMs),
    minBackoffMs: duration("minBackoffMs", options.minBackoffMs ?? d.minBackoffMs),
    maxBackoffMs: duration("maxBackoffMs", options.maxBackoffMs ?? d.maxBackoffMs),
    jitter: options.backoffJitter ?? d.backoffJitter,
    resetAfterMs: duration("backoffResetMs", options.backoffResetMs ?? d.backoffResetMs),
    children: Object.freeze([...(options.children ?? [])]),
  };
  if (!(resolved.jitter >= 0 && resolved.jitter <= 1)) {
    throw new ActorOptionsError(`backoffJitter must be within [0, 1], got ${resolved.jitter}`);
  }
  if (resolved.maxBackoffMs < resolved.minBackoffMs) {
    throw new ActorOptionsError(
      `maxBackoffMs (${resolved.maxBackoffMs}) must be >= minBackoffMs (${resolved.minBackoffMs})`,
    );
  }
  const ids = new Set<string>();
  for (const child of resolved.children) {
    validateChildSpec(child);
    if (ids.has(child.id)) throw new ActorOptionsError(`duplicate child id "${child.id}"`);
    ids.add(child.id);
  }
  return resolved;
}

/** Checks one child spec; the error names the child and the field. */
export function validateChildSpec(spec: ChildSpec): void {
  if (typeof spec.id !== "string" || spec.id.length === 0 || spec.id.includes("/")) {
    throw new ActorOptionsError(
      `child id must be a non-empty string without "/", got "${spec.id}"`,
    );
  }
  if (typeof spec.behavior !== "function") {
    throw new ActorOptionsError(`child "${spec.id}": behavior must be a function`);
  }
  if (spec.restart !== undefined && !RESTART_TYPES.includes(spec.restart)) {
    throw new ActorOptionsError(
      `child "${spec.id}": restart must be one of ${RESTART_TYPES.join(", ")}, got "${spec.restart}"`,
    );
  }
  try {
    resolveSettings(spec, {});
  } catch (error) {
    throw new ActorOptionsError(`child "${spec.id}": ${(error as Error).message}`);
  }
}

function count(option: string, value: number): number {
  if (!(Number.isInteger(value) && value >= 0)) {
    throw new ActorOptionsError(`${option} must be an integer >= 0, got ${value}`);
  }
  return value;
}

function duration(option: string, value: number): number {
  if (!(value >= 0))
    throw new ActorOptionsError(`${option} must be a duration >= 0 (ms), got ${value}`);
  return value;
}
