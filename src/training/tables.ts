/**
 * Uploaded data sets inside a pool thread: the CSV bytes (shared with the main thread, never
 * copied per task) parsed once into standardised features and class ids, and kept by content hash
 * for the thread's next tasks, least recently used first.
 */
import { parse } from "csv-parse/sync";
import { cellNumber, sortClasses } from "../contract/datasets.ts";

/** Which columns, and how: a model's own choice when it predicts, else the data set's. */
export interface TableSelection {
  /** The label column; undefined when the rows are only predicted (it may then be absent). */
  target: string | undefined;
  /** Default: every column but the target. */
  features?: readonly string[] | undefined;
  /** Class ids' order. Default: the target's distinct values, sorted (`sortClasses`). */
  classes?: readonly string[] | undefined;
  /** Default: each feature's own mean and standard deviation. */
  normalisation?: Normalisation | undefined;
}

export interface Normalisation {
  mean: number[];
  std: number[];
}

/** Rows in file order: standardised features (row-major) and class ids. */
export interface Table {
  x: Float32Array;
  y: Uint8Array;
  rows: number;
  features: string[];
  classes: string[];
  normalisation: Normalisation;
}

/** A thread keeps this many bytes of parsed tables. */
const CACHE_BYTES = 256 * 1024 * 1024;
const cache = new Map<string, Table>();
let cachedBytes = 0;

/** The table of `hash`'s data under `selection`: parsed from `bytes` unless this thread has it. */
export function loadTable(hash: string, bytes: Uint8Array, selection: TableSelection): Table {
  const key = keyOf(hash, selection);
  const known = cache.get(key);
  if (known) {
    cache.delete(key);
    cache.set(key, known);
    return known;
  }
  const table = parseTable(bytes, selection);
  cache.set(key, table);
  cachedBytes += table.x.byteLength + table.y.byteLength;
  for (const [oldest, old] of cache) {
    if (cachedBytes <= CACHE_BYTES || old === table) break;
    cache.delete(oldest);
    cachedBytes -= old.x.byteLength + old.y.byteLength;
  }
  return table;
}

/** A table this thread loaded with the data set's own selection for `target`. */
export function cachedTable(hash: string, target: string): Table | undefined {
  return cache.get(keyOf(hash, { target }));
}

function keyOf(hash: string, s: TableSelection): string {
  return JSON.stringify([hash, s.target, s.features, s.classes, s.normalisation?.mean]);
}

/** Parses the whole CSV; every error names the line and column at fault. */
export function parseTable(bytes: Uint8Array, selection: TableSelection): Table {
  let header: string[] | undefined;
  let columns: number[] = [];
  let targetAt = -1;
  const raw: number[] = [];
  const labels: string[] = [];
  parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
    bom: true,
    skip_empty_lines: true,
    trim: true,
    on_record: (record: string[], context: { lines: number }) => {
      if (!header) {
        header = record;
        ({ columns, targetAt } = pick(header, selection));
        return null;
      }
      for (const j of columns) {
        const value = cellNumber(record[j] ?? "");
        if (value === undefined) {
          throw new RangeError(
            `line ${context.lines}, column ${JSON.stringify(header[j])}: ${JSON.stringify(record[j] ?? "")} is not a number`,
          );
        }
        raw.push(value);
      }
      if (targetAt >= 0) labels.push(record[targetAt] as string);
      return null;
    },
  });
  if (!header) throw new RangeError(`the data set is empty (${bytes.byteLength} bytes)`);
  const d = columns.length;
  const rows = raw.length / Math.max(d, 1);
  const features = columns.map((j) => header?.[j] as string);
  const targetType = labels.every((l) => cellNumber(l) !== undefined) ? "number" : "text";
  const canonical = (label: string) => (targetType === "number" ? String(Number(label)) : label);
  const classes = selection.classes
    ? [...selection.classes]
    : sortClasses(new Set(labels.map(canonical)), targetType);
  const classId = new Map(classes.map((c, i) => [c, i]));
  const y = new Uint8Array(rows);
  labels.forEach((label, r) => {
    const id = classId.get(canonical(label)) ?? classId.get(label);
    if (id === undefined) {
      throw new RangeError(
        `line ${r + 2}, column ${JSON.stringify(selection.target)}: ${JSON.stringify(label)} is not one of the model's classes (${classes.join(", ")})`,
      );
    }
    y[r] = id;
  });
  const normalisation = selection.normalisation ?? standardise(raw, rows, d);
  const x = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < d; j++) {
      const i = r * d + j;
      x[i] =
        ((raw[i] as number) - (normalisation.mean[j] as number)) / (normalisation.std[j] as number);
    }
  }
  return { x, y, rows, features, classes, normalisation };
}

/** The feature columns' and the target's positions in the header. */
function pick(header: string[], s: TableSelection): { columns: number[]; targetAt: number } {
  const at = (name: string, what: string) => {
    const j = header.indexOf(name);
    if (j < 0) {
      throw new RangeError(
        `${what} ${JSON.stringify(name)} is not a column of the data set (its columns: ${header.join(", ")})`,
      );
    }
    return j;
  };
  const targetAt = s.target === undefined ? -1 : at(s.target, "target_column");
  const features = s.features ?? header.filter((name) => name !== s.target);
  return { columns: features.map((name) => at(name, "feature")), targetAt };
}

/** Each feature's mean and standard deviation (1 for a constant feature). */
function standardise(raw: number[], rows: number, d: number): Normalisation {
  const mean = new Array<number>(d).fill(0);
  const std = new Array<number>(d).fill(0);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) + (raw[r * d + j] as number) / rows;
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < d; j++)
      std[j] = (std[j] as number) + ((raw[r * d + j] as number) - (mean[j] as number)) ** 2 / rows;
  return { mean, std: std.map((v) => (v > 0 ? Math.sqrt(v) : 1)) };
}
