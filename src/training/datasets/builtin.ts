/**
 * Small sample data sets shipped with Troupe, named in a job spec by `dataset.dataset_id` (seed
 * 001's `parameters.dataset_name`). Plain data, no schema library: pool threads import this.
 */
import { IRIS_CSV } from "./iris.ts";

export interface BuiltinDataset {
  readonly id: string;
  /** Feature columns, in order. */
  readonly features: readonly string[];
  /** The column the data set is classified by. */
  readonly target_column: string;
  /** Class names; a row's label is an index into them. */
  readonly classes: readonly string[];
  readonly rows: number;
  /** `rows × features`, row-major, in the file's order. */
  readonly x: Float32Array;
  readonly y: Uint8Array;
}

/** CSV text with a header row, the target column last, numeric features. */
function parseCsv(id: string, text: string): BuiltinDataset {
  const [header = "", ...lines] = text.trim().split("\n");
  const columns = header.split(",");
  const features = columns.slice(0, -1);
  const classes: string[] = [];
  const x = new Float32Array(lines.length * features.length);
  const y = new Uint8Array(lines.length);
  lines.forEach((line, r) => {
    const cells = line.split(",");
    for (let j = 0; j < features.length; j++) x[r * features.length + j] = Number(cells[j]);
    const label = cells[features.length] as string;
    if (!classes.includes(label)) classes.push(label);
    y[r] = classes.indexOf(label);
  });
  return {
    id,
    features,
    target_column: columns.at(-1) as string,
    classes,
    rows: lines.length,
    x,
    y,
  };
}

const SOURCES: Readonly<Record<string, string>> = Object.freeze({ iris: IRIS_CSV });
const parsed = new Map<string, BuiltinDataset>();

/** The ids of the built-in data sets. */
export const BUILTIN_DATASET_IDS: readonly string[] = Object.freeze(Object.keys(SOURCES));

/** A built-in data set by id, parsed on first use; undefined for an unknown id. */
export function builtinDataset(id: string): BuiltinDataset | undefined {
  const known = parsed.get(id);
  if (known) return known;
  const text = Object.hasOwn(SOURCES, id) ? SOURCES[id] : undefined;
  if (text === undefined) return undefined;
  const dataset = parseCsv(id, text);
  parsed.set(id, dataset);
  return dataset;
}
