import { parse } from "csv-parse/sync";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { inferenceDatasetSpec, uploadedDatasetSpec } from "../../src/artifacts/dataset-spec.ts";
import { cellNumber, type DatasetRecord, sortClasses } from "../../src/contract/datasets.ts";
import { scanCsv } from "../../src/training/csv-scan.ts";
import { decodeModelJson, encodeModelJson } from "../../src/training/model-json.ts";

async function* chunks(text: string, size = 7): AsyncGenerator<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

function lineIn(message: string): number | undefined {
  const named = /line (\d+)/.exec(message)?.[1];
  return named === undefined ? undefined : Number(named);
}

const record: DatasetRecord = {
  dataset_id: "d",
  object: "d.csv",
  rows: 100,
  columns: [
    { name: "a", type: "number" },
    { name: "b", type: "number" },
    { name: "colour", type: "text", values: ["blue", "red"] },
    { name: "kind", type: "text", values: ["x", "y", "z"] },
  ],
  target_column: "kind",
  features: ["a", "b", "colour"],
  classes: ["x", "y", "z"],
  size_bytes: 1000,
  sha256: "ab",
  created_at: "2026-12-03T00:00:00.000Z",
};

describe("the CSV check", () => {
  it("summarises columns and rows however the bytes are cut, classes sorted", async () => {
    const summary = await scanCsv(chunks("x,y,label\n1,2,b\n3,4.5,a\n5,6,b\n", 3));
    expect(summary).toEqual({
      rows: 3,
      columns: [
        { name: "x", type: "number", values: ["1", "3", "5"] },
        { name: "y", type: "number", values: ["2", "4.5", "6"] },
        { name: "label", type: "text", values: ["a", "b"] },
      ],
    });
  });

  it("reads every file as csv-parse does: the same summary, or a refusal at the same line", async () => {
    const header = fc.constantFrom("a,b,c", "a,b", '"a", b ,c', "a,\u00e9,c", "1,2,3", "a,a,b");
    const row = fc.array(cell, { minLength: 1, maxLength: 4 }).map((cells) => cells.join(","));
    const body = fc.array(fc.tuple(row, lineEnd), { maxLength: 12 });
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        header,
        lineEnd,
        body,
        fc.boolean(),
        fc.integer({ min: 1, max: 9 }),
        async (bom, first, end, lines, last, size) => {
          const text = `${bom ? "\ufeff" : ""}${first}${end}${lines.map(([r, e]) => r + e).join("")}`;
          const whole = last ? text : text.replace(/\r?\n$/, "");
          const expected = byCsvParse(whole);
          const actual = await scanCsv(chunks(whole, size)).then(
            (summary) => ({ summary }),
            (error: Error) => ({ line: lineIn(error.message) }),
          );
          expect(actual).toEqual(expected);
        },
      ),
      { numRuns: 400 },
    );
  });

  it.each([
    ["x,y\n1,2\n3,\n", 'line 3, column "y": is empty'],
    ["x,y\n1,2\n3\n", "not a valid CSV file"],
    ["x,x\n1,2\n", 'column "x" appears twice'],
    ["x,y\n", "no data rows"],
  ])("names what is wrong with %j", async (text, message) => {
    await expect(scanCsv(chunks(text))).rejects.toThrow(message);
  });
});

/**
 * What csv-parse alone makes of `text` with the check's rules, as a second opinion: the summary,
 * or the line of the first fault (undefined when the fault names none).
 */
function byCsvParse(text: string): { summary: unknown } | { line: number | undefined } {
  let header: string[] | undefined;
  let rows = 0;
  const columns: { type: string; distinct: Set<string> | undefined }[] = [];
  const fault = (line: number | undefined) => Object.assign(new Error("fault"), { line });
  try {
    parse(text, {
      bom: true,
      skip_empty_lines: true,
      trim: true,
      on_record: (record: string[], { lines }: { lines: number }) => {
        if (!header) {
          const numbers = record.every((cell) => cellNumber(cell) !== undefined);
          if (numbers || new Set(record).size < record.length || record.includes(""))
            throw fault(numbers ? undefined : 1);
          header = record;
          for (const _ of record) columns.push({ type: "number", distinct: new Set() });
          return null;
        }
        rows++;
        record.forEach((cell, j) => {
          const column = columns[j] as (typeof columns)[number];
          const numeric = cellNumber(cell) !== undefined;
          if (rows === 1) column.type = numeric ? "number" : "text";
          if (column.type === "number" && !numeric) throw fault(lines);
          column.distinct?.add(column.type === "number" ? String(Number(cell)) : cell);
          if ((column.distinct?.size ?? 0) > 100) column.distinct = undefined;
        });
        return null;
      },
    });
  } catch (error) {
    const { line, message } = error as { line?: number; message: string };
    const named = /line (\d+)/.exec(message)?.[1];
    return { line: line ?? (named === undefined ? undefined : Number(named)) };
  }
  if (!header || rows === 0) return { line: undefined };
  return {
    summary: {
      rows,
      columns: header.map((name, j) => {
        const { type, distinct } = columns[j] as (typeof columns)[number];
        const values = distinct && sortClasses(distinct, type as "number" | "text");
        return values ? { name, type, values } : { name, type };
      }),
    },
  };
}

/** Cells chosen to sit on the edges between the byte scanner's plain lines and csv-parse's. */
const cell = fc.constantFrom(
  ...["1", "-2.5", " 3 ", "+.5", "7.", "1e3", "-", "x", "y", "a b", "", " ", "\t4", "0x1F"],
  ...["Infinity", "\u00a0 8", "é", "x\u00a0", '"q"', ' "5" ', '"a,b"', '""', '"x""y"', 'a"b'],
  ...['"two\nlines"', "\f9", "9\r9"],
);
const lineEnd = fc.constantFrom("\n", "\n", "\n", "\r\n", "\n\n", "\n \n");

describe("a job's dataset on an uploaded data set", () => {
  it("resolves rows, features and classes, keyed by content hash", () => {
    const resolved = uploadedDatasetSpec(
      { ...record, columns: record.columns.filter((c) => c.name !== "colour") },
      { seed: 3 },
    );
    expect(resolved).toEqual({
      value: {
        dataset_id: "d",
        target_column: "kind",
        samples: 100,
        features: 2,
        classes: 3,
        seed: 3,
        noise: 0,
        content_hash: "ab",
      },
    });
  });

  it("refuses a text feature column and an unknown target, naming them", () => {
    const text = uploadedDatasetSpec(record, {});
    expect("errors" in text && text.errors[0]?.message).toContain('"colour"');
    const unknown = uploadedDatasetSpec(record, { target_column: "size" });
    expect("errors" in unknown && unknown.errors[0]).toMatchObject({
      path: "/dataset/target_column",
      message: expect.stringContaining('"size" is not a column of d'),
    });
  });

  it("for predict, needs the model's features as numeric columns, not the target", () => {
    const model = {
      model_type: "svm",
      features: ["a", "b"],
      classes: ["x", "y"],
      target_column: "kind",
    };
    expect(inferenceDatasetSpec(record, {}, model, "predict")).toMatchObject({
      value: { features: 2, classes: 2, samples: 100 },
    });
    const missing = inferenceDatasetSpec(record, {}, { ...model, features: ["a", "c"] }, "predict");
    expect("errors" in missing && missing.errors[0]?.message).toContain('"c"');
  });
});

describe("model.json", () => {
  it("keeps a model's typed arrays exactly through JSON", () => {
    const model = {
      model_type: "logistic_regression" as const,
      features: 2,
      classes: 2,
      weights: Float64Array.from([0.1, -2.5e-7]),
      bias: Float64Array.from([1 / 3]),
    };
    const text = encodeModelJson(model, {
      features: ["a", "b"],
      classes: ["no", "yes"],
      target_column: "y",
      normalisation: { mean: [0, 1], std: [1, 2] },
    });
    const back = decodeModelJson(text);
    expect(back.model).toEqual(model);
    expect(back).toMatchObject({ format: "troupe-model", version: 1, classes: ["no", "yes"] });
    expect(() => decodeModelJson('{"format":"other","version":1}')).toThrow("troupe-model");
  });
});
