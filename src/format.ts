/**
 * Numbers and times as people read them, for the CLI and the dashboard alike. `spaced` puts a
 * space before each unit (`4 m 05 s`, the dashboard's); without it they are compact for tables
 * (`4m05s`, the CLI's).
 */

/** `0.4123`, or `—` when unknown. */
export function fmtLoss(value: number | null | undefined): string {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(4) : "—";
}

/** A 0..1 share as `87.2%`, or `—` when unknown. */
export function fmtPercent(value: number | null | undefined, digits = 1): string {
  return typeof value === "number" && Number.isFinite(value)
    ? `${(value * 100).toFixed(digits)}%`
    : "—";
}

/** `850ms`, `12.3s`, `4m05s`, `2h10m` (spaced: `850 ms`, `12.3 s`, `4 m 05 s`, `2 h 10 m`). */
export function fmtDuration(ms: number, spaced = false): string {
  if (!Number.isFinite(ms) || ms < 0) return "—";
  const u = spaced ? (unit: string) => ` ${unit}` : (unit: string) => unit;
  const two = (n: number) => `${spaced ? " " : ""}${String(n).padStart(2, "0")}`;
  if (ms < 1_000) return `${Math.round(ms)}${u("ms")}`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)}${u("s")}`;
  const s = Math.floor(ms / 1_000);
  if (s < 3_600) return `${Math.floor(s / 60)}${u("m")}${two(s % 60)}${u("s")}`;
  return `${Math.floor(s / 3_600)}${u("h")}${two(Math.floor((s % 3_600) / 60))}${u("m")}`;
}

/** How long ago an ISO time was: `5s ago`, `3m ago`, `2h ago`, `4d ago` (spaced: `3 min ago`). */
export function fmtAgo(iso: string | null | undefined, nowMs = Date.now(), spaced = false): string {
  if (!iso) return "—";
  const s = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1_000));
  if (!Number.isFinite(s)) return "—";
  const ago = (n: number, unit: string, spacedUnit = unit) =>
    spaced ? `${n} ${spacedUnit} ago` : `${n}${unit} ago`;
  if (s < 60) return ago(s, "s");
  if (s < 3_600) return ago(Math.floor(s / 60), "m", "min");
  if (s < 86_400) return ago(Math.floor(s / 3_600), "h");
  return ago(Math.floor(s / 86_400), "d");
}
