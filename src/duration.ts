const UNIT_MS: Readonly<Record<string, number>> = Object.freeze({
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
});
// A bare number is seconds, as the seed services' variables (HEARTBEAT_TTL_SEC=120) are written.
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;

/** The accepted forms, for error messages. */
export const DURATION_FORMS =
  "a number with a unit: 1500ms, 300s, 5m or 1h (a plain number is seconds)";

/**
 * Parses `1500ms`, `300s`, `5m`, `1h` (decimals allowed: `1.5s`) and plain seconds (`120`) into
 * whole milliseconds. Returns undefined for anything else.
 */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const [, amount, unit = "s"] = match;
  return Math.round(Number(amount) * (UNIT_MS[unit] ?? Number.NaN));
}
