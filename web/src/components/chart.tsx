import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

/** One line of a chart: a task's value by epoch. */
export interface Line {
  label: string;
  /** epoch → value. */
  points: ReadonlyMap<number, number>;
}

const PALETTE = [
  "#2563eb",
  "#dc2626",
  "#16a34a",
  "#d97706",
  "#7c3aed",
  "#0891b2",
  "#db2777",
  "#65a30d",
  "#4b5563",
  "#ea580c",
];
const colorOf = (i: number) => PALETTE[i] ?? `hsl(${(i * 137) % 360} 65% 45%)`;
const HEIGHT = 220;

/** Epochs on x (the union of every line's), one y array per line with null where it has none. */
function align(lines: readonly Line[]): uPlot.AlignedData {
  const epochs = new Set<number>();
  for (const line of lines) for (const epoch of line.points.keys()) epochs.add(epoch);
  const x = [...epochs].sort((a, b) => a - b);
  return [x, ...lines.map((line) => x.map((epoch) => line.points.get(epoch) ?? null))];
}

/** Tick labels with as many decimals as their spacing needs (no two ticks read the same). */
function tickLabels(ticks: number[], unit: "number" | "percent"): string[] {
  const scale = unit === "percent" ? 100 : 1;
  const step = Math.abs(((ticks[1] ?? 0) - (ticks[0] ?? 0)) * scale) || 1;
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step))));
  return ticks.map((t) => `${(t * scale).toFixed(decimals)}${unit === "percent" ? "%" : ""}`);
}

function valueLabel(value: number, unit: "number" | "percent"): string {
  return unit === "percent" ? `${(value * 100).toFixed(2)}%` : value.toPrecision(4);
}

/** What the chart shows, in words: its accessible name, for screen readers (and tests). */
export function describe(title: string, lines: readonly Line[]): string {
  if (lines.length === 0) return `${title}: no epochs yet`;
  const parts = lines.slice(0, 16).map((line) => `${line.label} ${line.points.size} points`);
  if (lines.length > 16) parts.push(`and ${lines.length - 16} more tasks`);
  return `${title}: ${parts.join(", ")}`;
}

/**
 * A uPlot line chart (canvas: fast with many points) of `lines` by epoch. Created once per set of
 * lines, given new data with `setData` — the caller batches updates to one per animation frame.
 */
export function Chart({
  title,
  lines,
  unit,
}: {
  title: string;
  lines: readonly Line[];
  /** How values read: plain numbers (a loss) or shares shown as percentages (an accuracy). */
  unit: "number" | "percent";
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const labels = lines.map((line) => line.label).join("\u0000");

  const empty = lines.every((line) => line.points.size === 0);

  useEffect(() => {
    const element = box.current;
    if (!element || empty) return;
    const options: uPlot.Options = {
      width: Math.max(200, element.clientWidth),
      height: HEIGHT,
      scales: { x: { time: false } },
      legend: { show: lines.length <= 12 },
      cursor: { drag: { x: false, y: false } },
      axes: [
        // Whole epochs only.
        { label: "epoch", stroke: "currentColor", incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500] },
        { stroke: "currentColor", values: (_u, ticks) => tickLabels(ticks, unit), size: 64 },
      ],
      series: [
        { label: "epoch" },
        ...lines.map((line, i) => ({
          label: line.label,
          stroke: colorOf(i),
          width: 1.5,
          spanGaps: true,
          points: { show: true, size: 4 },
          value: (_u: uPlot, v: number | null) => (v === null ? "—" : valueLabel(v, unit)),
        })),
      ],
    };
    const chart = new uPlot(options, align(lines), element);
    plot.current = chart;
    const resize = new ResizeObserver(() =>
      chart.setSize({ width: Math.max(200, element.clientWidth), height: HEIGHT }),
    );
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
    // Rebuilt only when the set of lines changes; data changes go through setData below.
  }, [labels, empty]);

  useEffect(() => {
    plot.current?.setData(align(lines));
  });

  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={describe(title, lines)}>
        {empty && <p class="muted small">No epoch reported since this page opened.</p>}
      </div>
    </figure>
  );
}
