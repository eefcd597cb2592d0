/**
 * The upload's CSV check, in a pool thread: the bytes stream through csv-parse as they arrive and
 * nothing but per-column summaries is kept, so any size is checked in bounded memory.
 */
import { parse } from "csv-parse";
import {
  type ColumnSummary,
  type CsvSummary,
  cellNumber,
  MAX_CLASSES,
  sortClasses,
} from "../contract/datasets.ts";

/** A file that is not a usable data set; the message names the line and column at fault. */
export class CsvError extends Error {
  override readonly name = "CsvError";
}

/** Reads every record of the CSV `chunks` make up; resolves with its summary. */
export async function scanCsv(chunks: AsyncIterable<Uint8Array>): Promise<CsvSummary> {
  const scan = new Scan();
  // Each record is looked at as it is parsed and dropped (null): nothing accumulates, and no
  // promise is made per record.
  const parser = parse({
    bom: true,
    skip_empty_lines: true,
    trim: true,
    on_record: (record: string[], context: { lines: number }) => {
      scan.add(record, context.lines);
      return null;
    },
  });
  let failure: unknown;
  const ended = new Promise<void>((resolve) => {
    parser.once("error", (error) => {
      failure = error;
      resolve();
    });
    parser.once("end", resolve);
  });
  parser.resume();
  for await (const chunk of chunks) {
    if (failure !== undefined) break;
    parser.write(chunk);
  }
  if (failure === undefined) parser.end();
  await ended;
  if (failure instanceof CsvError) throw failure;
  if (failure !== undefined) {
    const cause = (failure as { cause?: unknown }).cause;
    if (cause instanceof CsvError) throw cause;
    throw new CsvError(`not a valid CSV file: ${(failure as Error).message}`);
  }
  return scan.finish();
}

class Scan {
  #header: string[] | undefined;
  #columns: { summary: ColumnSummary; distinct: Set<string> | undefined }[] = [];
  #rows = 0;

  add(record: string[], line: number): void {
    if (!this.#header) {
      this.#start(record);
      return;
    }
    this.#rows++;
    record.forEach((cell, j) => {
      const column = this.#columns[j];
      if (!column) return;
      const { summary } = column;
      if (this.#rows === 1) summary.type = cellNumber(cell) === undefined ? "text" : "number";
      if (summary.type === "number" && cellNumber(cell) === undefined) {
        const what =
          cell === ""
            ? "is empty (missing values are not supported)"
            : `${JSON.stringify(cell)} is not a number`;
        throw new CsvError(
          `line ${line}, column ${JSON.stringify(summary.name)}: ${what}; the column's first value is a number, so every value must be one`,
        );
      }
      if (column.distinct) {
        column.distinct.add(summary.type === "number" ? String(Number(cell)) : cell);
        if (column.distinct.size > MAX_CLASSES) column.distinct = undefined;
      }
    });
  }

  #start(header: string[]): void {
    if (header.every((cell) => cellNumber(cell) !== undefined)) {
      throw new CsvError(
        `no header row: the first row (${header.slice(0, 4).join(", ")}${header.length > 4 ? ", …" : ""}) is all numbers; the first row must name the columns`,
      );
    }
    const seen = new Set<string>();
    header.forEach((name, j) => {
      if (name === "") throw new CsvError(`line 1: column ${j + 1} has no name`);
      if (seen.has(name))
        throw new CsvError(`line 1: column ${JSON.stringify(name)} appears twice`);
      seen.add(name);
    });
    this.#header = header;
    this.#columns = header.map((name) => ({
      summary: { name, type: "number" as ColumnSummary["type"] },
      distinct: new Set<string>(),
    }));
  }

  finish(): CsvSummary {
    if (!this.#header) throw new CsvError("the file is empty: expected a header row and data rows");
    if (this.#rows === 0) throw new CsvError("the file has a header row but no data rows");
    return {
      rows: this.#rows,
      columns: this.#columns.map(({ summary, distinct }) =>
        distinct ? { ...summary, values: sortClasses(distinct, summary.type) } : summary,
      ),
    };
  }
}
