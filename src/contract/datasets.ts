/**
 * Uploaded data sets (DESIGN §5.1): the shapes and rules the doors, the domain and the pool threads
 * share. Plain data and functions: pool threads import this.
 */

/** A column with at most this many distinct values can be a target; its values are its classes. */
export const MAX_CLASSES = 100;

/** What a scan of a CSV file found: its columns in order, and its data rows. */
export interface CsvSummary {
  rows: number;
  columns: ColumnSummary[];
}

export interface ColumnSummary {
  name: string;
  /** `number`: every cell is a finite number; `text`: the first cell is not one. */
  type: "number" | "text";
  /** Its distinct values in class order, while there are at most MAX_CLASSES of them. */
  values?: string[];
}

/** A stored data set, as every door returns it. */
export interface DatasetRecord extends CsvSummary {
  dataset_id: string;
  /** The object in the datasets bucket: `<dataset_id>.csv`. */
  object: string;
  /** The column predicted by default: the last one, unless the upload named another. */
  target_column: string;
  /** The feature columns with that target (every other column). */
  features: string[];
  /** The target's classes in class-id order (null when it has more than MAX_CLASSES values). */
  classes: string[] | null;
  size_bytes: number;
  sha256: string;
  created_at: string;
}

/** The number in a cell, or undefined when it holds none (empty cells included). */
export function cellNumber(cell: string): number | undefined {
  if (cell.trim() === "") return undefined;
  const n = Number(cell);
  return Number.isFinite(n) ? n : undefined;
}

/** Class order, the same everywhere: numbers by value, text by code unit. */
export function sortClasses(values: Iterable<string>, type: ColumnSummary["type"]): string[] {
  const list = [...values];
  return type === "number"
    ? list.sort((a, b) => Number(a) - Number(b))
    : list.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A dataset id: what a job spec names and the object's name without `.csv`. */
export const DATASET_ID = "^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$";

/** The object name of a data set. */
export function datasetObject(datasetId: string): string {
  return `${datasetId}.csv`;
}
