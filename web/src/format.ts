import { fmtAgo as ago, fmtDuration as duration } from "../../src/format.ts";

export { fmtLoss, fmtPercent } from "../../src/format.ts";

/** `850 ms`, `12.3 s`, `4 m 05 s`, `2 h 10 m`. */
export function fmtDuration(ms: number): string {
  return duration(ms, true);
}

/** How long ago: `5 s ago`, `3 min ago`, `2 h ago`, `4 d ago`. */
export function fmtAgo(iso: string | null | undefined, nowMs = Date.now()): string {
  return ago(iso, nowMs, true);
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
