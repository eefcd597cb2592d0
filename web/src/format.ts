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

/** `850 ms`, `12.3 s`, `4 m 05 s`, `2 h 10 m`. */
export function fmtDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "—";
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const s = Math.floor(ms / 1_000);
  if (s < 3_600) return `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3_600)} h ${String(Math.floor((s % 3_600) / 60)).padStart(2, "0")} m`;
}

/** How long ago: `5 s ago`, `3 min ago`, `2 h ago`, `4 d ago`. */
export function fmtAgo(iso: string | null | undefined, nowMs = Date.now()): string {
  if (!iso) return "—";
  const s = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1_000));
  if (!Number.isFinite(s)) return "—";
  if (s < 60) return `${s} s ago`;
  if (s < 3_600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3_600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/** Local date and time, to the second. */
export function fmtTime(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString(undefined, { hour12: false }) : "—";
}

/** When, compactly: `14:03:07` today, `2026-12-01 09:15` before. */
export function fmtWhen(iso: string, now = new Date()): string {
  const date = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}`;
  if (date.toDateString() === now.toDateString()) return `${time}:${pad(date.getSeconds())}`;
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${time}`;
}
