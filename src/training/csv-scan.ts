/**
 * The upload's CSV check, in a pool thread: the bytes are checked as they arrive and nothing but
 * per-column summaries is kept, so any size is checked in bounded memory. Plain lines are split
 * by a byte scanner (csv-lines.ts); from the first line it cannot vouch for, csv-parse reads the
 * rest, so a file reads as csv-parse (and the training threads' parse) reads it.
 */
import { type CsvError as ParseError, type Parser, parse } from "csv-parse";
import {
  type ColumnSummary,
  type CsvSummary,
  cellNumber,
  MAX_CLASSES,
  sortClasses,
} from "../contract/datasets.ts";
import { type Cells, type LineSink, PlainLines } from "./csv-lines.ts";

/** A file that is not a usable data set; the message names the line and column at fault. */
export class CsvError extends Error {
  override readonly name = "CsvError";
}

/** Reads every record of the CSV `chunks` make up; resolves with its summary. */
export async function scanCsv(chunks: AsyncIterable<Uint8Array>): Promise<CsvSummary> {
  const scan = new Scan();
  const lines = new PlainLines(scan);
  let parser: ParserFeed | undefined;
  for await (const chunk of chunks) {
    if (parser) {
      if (!parser.write(chunk)) break;
      continue;
    }
    const rest = lines.write(chunk);
    if (rest) parser = new ParserFeed(scan, lines, rest);
  }
  if (!parser) {
    const rest = lines.end();
    if (rest) parser = new ParserFeed(scan, lines, rest);
  }
  await parser?.end();
  return scan.finish();
}

/**
 * csv-parse reading the file on from where the byte scanner stopped: given the header line first
 * (so it expects as many fields as the header has), its line numbers moved to the file's.
 */
class ParserFeed {
  readonly #parser: Parser;
  readonly #ended: Promise<void>;
  /** csv-parse's line n is the file's line n + offset. */
  readonly #offset: number;
  #failure: unknown;

  constructor(scan: Scan, lines: PlainLines, rest: Buffer) {
    const header = lines.header;
    this.#offset = header ? lines.line - 1 : lines.line;
    let skipHeader = header !== undefined;
    // Each record is looked at as it is parsed and dropped (null): nothing accumulates, and no
    // promise is made per record.
    this.#parser = parse({
      bom: true,
      skip_empty_lines: true,
      trim: true,
      on_record: (record: string[], context: { lines: number }) => {
        if (skipHeader) skipHeader = false;
        else scan.add(record, context.lines + this.#offset);
        return null;
      },
    });
    this.#ended = new Promise<void>((resolve) => {
      this.#parser.once("error", (error) => {
        this.#failure = error;
        resolve();
      });
      this.#parser.once("end", resolve);
    });
    this.#parser.resume();
    if (header) this.#parser.write(Buffer.concat([header, Buffer.from("\n")]));
    this.write(rest);
  }

  /** False once the parser has failed (the rest need not be read). */
  write(chunk: Uint8Array): boolean {
    if (this.#failure !== undefined) return false;
    this.#parser.write(chunk);
    return true;
  }

  async end(): Promise<void> {
    if (this.#failure === undefined) this.#parser.end();
    await this.#ended;
    const failure = this.#failure;
    if (failure === undefined) return;
    if (failure instanceof CsvError) throw failure;
    const cause = (failure as { cause?: unknown }).cause;
    if (cause instanceof CsvError) throw cause;
    const message = (failure as ParseError).message.replace(
      /\b(at|on) line (\d+)/g,
      (_, word: string, line: string) => `${word} line ${Number(line) + this.#offset}`,
    );
    throw new CsvError(`not a valid CSV file: ${message}`);
  }
}

/** A column's summary so far, and its distinct values while there are at most MAX_CLASSES. */
interface Column {
  summary: ColumnSummary;
  distinct: Set<string> | undefined;
  /** The bytes of values already counted in `distinct`: a value seen again needs no string. */
  seen: Buffer[];
}

/** Byte forms of distinct values a column remembers (one number can be written several ways). */
const MAX_SEEN = 2 * MAX_CLASSES;

class Scan implements LineSink {
  #header: string[] | undefined;
  #columns: Column[] = [];
  #rows = 0;

  header(names: string[], line: number): void {
    this.add(names, line);
  }

  /** A record csv-parse read (the first is the header). */
  add(record: string[], line: number): void {
    if (!this.#header) {
      this.#start(record);
      return;
    }
    this.#rows++;
    record.forEach((cell, j) => {
      const column = this.#columns[j];
      if (!column) return;
      this.#check(column.summary, cellNumber(cell) !== undefined, cell, line);
      if (column.distinct) this.#distinct(column, cell);
    });
  }

  /**
   * A row the byte scanner split: a cell becomes a string only when it must (a value not seen
   * before in a column still counting its distinct values, or a fault to name).
   */
  row({ bytes, starts, ends, plain, count }: Cells, line: number): void {
    this.#rows++;
    const first = this.#rows === 1;
    for (let j = 0; j < count && j < this.#columns.length; j++) {
      const column = this.#columns[j] as Column;
      const from = starts[j] as number;
      const to = ends[j] as number;
      // A text column takes any value once its first row made it one.
      if (first || column.summary.type === "number") {
        const numeric =
          plain[j] === 1 || cellNumber(bytes.toString("utf8", from, to)) !== undefined;
        if (first || !numeric)
          this.#check(column.summary, numeric, bytes.toString("utf8", from, to), line);
      }
      if (column.distinct && !seen(column.seen, bytes, from, to)) {
        if (column.seen.length < MAX_SEEN) column.seen.push(Buffer.from(bytes.subarray(from, to)));
        this.#distinct(column, bytes.toString("utf8", from, to));
      }
    }
  }

  #check(summary: ColumnSummary, numeric: boolean, cell: string, line: number): void {
    if (this.#rows === 1) summary.type = numeric ? "number" : "text";
    if (summary.type !== "number" || numeric) return;
    const what =
      cell === ""
        ? "is empty (missing values are not supported)"
        : `${JSON.stringify(cell)} is not a number`;
    throw new CsvError(
      `line ${line}, column ${JSON.stringify(summary.name)}: ${what}; the column's first value is a number, so every value must be one`,
    );
  }

  #distinct(column: Column, cell: string): void {
    const distinct = column.distinct as Set<string>;
    distinct.add(column.summary.type === "number" ? String(Number(cell)) : cell);
    if (distinct.size > MAX_CLASSES) {
      column.distinct = undefined;
      column.seen = [];
    }
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
      seen: [],
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

/** Whether `b[from, to)` is one of `known`, byte for byte. */
function seen(known: readonly Buffer[], b: Buffer, from: number, to: number): boolean {
  const length = to - from;
  next: for (const value of known) {
    if (value.length !== length) continue;
    for (let i = 0; i < length; i++) if (value[i] !== b[from + i]) continue next;
    return true;
  }
  return false;
}
