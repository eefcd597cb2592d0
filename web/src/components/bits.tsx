import type { ComponentChildren } from "preact";

/** A state as a coloured word: the colour is a hint, the word says it (colour-blind safe). */
export function Status({ status }: { status: string }) {
  return <span class={`status status-${status.toLowerCase()}`}>{status}</span>;
}

/** A bar for a share of 0..1, with its text beside it; `label` names it for screen readers. */
export function Progress({
  value,
  text,
  label,
  tone = "run",
}: {
  value: number;
  text: string;
  label: string;
  tone?: "run" | "ok" | "bad" | "load";
}) {
  const share = Math.max(0, Math.min(1, Number.isFinite(value) ? value : 0));
  return (
    <span class="progress">
      <span
        class={`bar bar-${tone}`}
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(share * 100)}
      >
        <span class="fill" style={{ transform: `scaleX(${share.toFixed(3)})` }} />
      </span>
      <span class="progress-text">{text}</span>
    </span>
  );
}

/** Why the data shown may be stale (a failed read; the last good data stays on screen). */
export function Problem({ children }: { children: ComponentChildren }) {
  return (
    <p class="problem" role="alert">
      {children}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return <p class="muted">Loading {what}…</p>;
}

/** A label and its figure, in the summary strips above the views. */
export function Figure({ label, value }: { label: string; value: ComponentChildren }) {
  return (
    <div class="figure">
      <div class="figure-value">{value}</div>
      <div class="figure-label">{label}</div>
    </div>
  );
}
