/**
 * Figures and tables shared by the benches: every figure is the median of ≥ 5 runs with min and
 * max; the human table goes to stdout and the last line is `RESULT {json}`.
 */
import { availableParallelism, cpus, loadavg } from "node:os";

/** A figure over several runs. */
export interface Figure {
  median: number;
  min: number;
  max: number;
}

/** Runs per figure: `BENCH_RUNS` (at least 5 unless set lower on purpose for a smoke run). */
export function benchRuns(fallback = 5): number {
  const raw = process.env.BENCH_RUNS;
  if (raw === undefined) return fallback;
  const runs = Number(raw);
  if (!Number.isInteger(runs) || runs < 1) throw new Error("BENCH_RUNS must be an integer ≥ 1");
  return runs;
}

export function figure(values: readonly number[]): Figure {
  if (values.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number };
}

/** The `p`-th percentile (0..100) of `values`, nearest-rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** Collects named samples run after run, then turns each into a `Figure`. */
export class Samples {
  readonly #values = new Map<string, number[]>();

  add(name: string, value: number): void {
    const list = this.#values.get(name) ?? [];
    list.push(value);
    this.#values.set(name, list);
  }

  get(name: string): Figure {
    return figure(this.#values.get(name) ?? []);
  }

  has(name: string): boolean {
    return this.#values.has(name);
  }
}

/** `12,345` for large numbers, `1.23` for small ones. */
export function fmt(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return "—";
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString("en-US");
  return value.toFixed(digits);
}

/** `median (min–max)`. */
export function fmtFigure(f: Figure, digits = 1): string {
  return `${fmt(f.median, digits)} (${fmt(f.min, digits)}–${fmt(f.max, digits)})`;
}

/** Prints an aligned table with a header row. */
export function printTable(title: string, header: readonly string[], rows: readonly string[][]) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join("  ");
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of rows) console.log(line(row));
}

/** Where and when: printed above the tables and kept in the RESULT line. */
export function machine(): {
  date: string;
  cpu: string;
  cores: number;
  node: string;
  load1: number;
} {
  return {
    date: new Date().toISOString(),
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: availableParallelism(),
    node: process.version,
    load1: Number((loadavg()[0] ?? 0).toFixed(2)),
  };
}

/** One-minute load average now, for the record (others share the machine). */
export function load1(): number {
  return Number((loadavg()[0] ?? 0).toFixed(2));
}

/** Rounds a figure for the RESULT line. */
export function rounded(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Prints the last line: `RESULT {json}`. */
export function printResult(result: Record<string, unknown>): void {
  console.log(`RESULT ${JSON.stringify(result)}`);
}
