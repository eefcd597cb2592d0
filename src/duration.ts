const UNIT_MS: Readonly<Record<string, number>> = Object.freeze({
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
});
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

/** The accepted forms, for error messages. */
export const DURATION_FORMS = "a number with a unit: 1500ms, 300s, 5m or 1h";

/**
 * Parses `1500ms`, `300s`, `5m`, `1h` (decimals allowed: `1.5s`) into whole milliseconds.
 * Returns undefined for anything else — a bare number is refused because its unit would be a guess.
 */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const [, amount, unit] = match;
  return Math.round(Number(amount) * (UNIT_MS[unit as string] ?? Number.NaN));
}
