import pc from "picocolors";

export { fmtAgo, fmtDuration, fmtLoss, fmtPercent } from "../format.ts";

type Colors = ReturnType<typeof pc.createColors>;

/** Where a command writes, and how: colour and bars only on a terminal that wants them. */
export interface Output {
  readonly out: NodeJS.WriteStream;
  readonly err: NodeJS.WriteStream;
  /** stdout is a terminal: bars and tables may redraw and colour. */
  readonly tty: boolean;
  readonly color: Colors;
  /** The terminal's width and height (80 × 24 when not a terminal). */
  readonly columns: number;
  readonly rows: number;
  /** Writes one line to stdout. */
  line(text?: string): void;
  /** Writes `value` as one JSON document on stdout (machine-readable; never coloured). */
  json(value: unknown): void;
}

/**
 * Colour only when stdout is a terminal that is not `dumb`, and `NO_COLOR` is unset or empty
 * (no-color.org); `FORCE_COLOR` (not `0`) forces it, as most tools agree.
 */
export function colorEnabled(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv): boolean {
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0") return true;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  return stream.isTTY === true && env.TERM !== "dumb";
}

export function createOutput(
  out: NodeJS.WriteStream = process.stdout,
  err: NodeJS.WriteStream = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): Output {
  const tty = out.isTTY === true && env.TERM !== "dumb";
  return {
    out,
    err,
    tty,
    color: pc.createColors(colorEnabled(out, env)),
    columns: (tty && out.columns) || 80,
    rows: (tty && out.rows) || 24,
    line: (text = "") => void out.write(`${text}\n`),
    json: (value) => void out.write(`${JSON.stringify(value)}\n`),
  };
}

/** Printable width: ANSI colour sequences take no room. */
export function visibleLength(text: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching the ESC of colour codes
  return text.replace(/\u001b\[[0-9;]*m/g, "").length;
}

/**
 * Columns aligned by their widest cell, two spaces apart, as `docker ps` and `kubectl get` print:
 * easy to read and to cut with awk. Cells that are numbers (a `right` column) align right.
 */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  options: { right?: ReadonlySet<number>; color?: Colors } = {},
): string[] {
  const widths = header.map((h, i) =>
    Math.max(visibleLength(h), ...rows.map((row) => visibleLength(row[i] ?? ""))),
  );
  const render = (cells: readonly string[]) =>
    cells
      .map((cell, i) => {
        const pad = " ".repeat((widths[i] ?? 0) - visibleLength(cell));
        if (i === cells.length - 1 && !options.right?.has(i)) return cell;
        return options.right?.has(i) ? pad + cell : cell + pad;
      })
      .join("  ")
      .trimEnd();
  const head = render(header);
  return [options.color ? options.color.bold(head) : head, ...rows.map(render)];
}

/** A job or task state in its colour: green done, red failed, yellow stopped, cyan running. */
export function statusColor(status: string, c: Colors): string {
  switch (status) {
    case "COMPLETED":
    case "IDLE":
      return c.green(status);
    case "FAILED":
    case "TIMEOUT":
    case "STALE":
      return c.red(status);
    case "CANCELLED":
    case "RETRYING":
    case "DRAINING":
      return c.yellow(status);
    case "RUNNING":
    case "BUSY":
      return c.cyan(status);
    default:
      return c.dim(status);
  }
}

/** Shortens text to `max` characters with an ellipsis. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}
