/**
 * The upload check's fast path: plain lines (fields unquoted, or quoted without inner quotes or
 * line breaks; no Unicode space at a field's edge) are split here byte by byte, without a string
 * per cell. csv-parse stays the parser of record: from the first line this cannot vouch for
 * reading exactly as csv-parse would (`trim`, `skip_empty_lines`), the rest of the file is its.
 */

const LF = 10;
const CR = 13;
const TAB = 9;
const SPACE = 32;
const QUOTE = 34;
const COMMA = 44;
const PLUS = 43;
const MINUS = 45;
const DOT = 46;
const DIGIT_0 = 48;
const DIGIT_9 = 57;
const BOM = [0xef, 0xbb, 0xbf];
/** A longer line goes to csv-parse (a file without `\n` line ends would otherwise be held whole). */
const MAX_LINE_BYTES = 1024 * 1024;

/** Where each cell of a split line lies in `bytes` (trimmed, without its quotes). */
export interface Cells {
  bytes: Buffer;
  starts: Int32Array;
  ends: Int32Array;
  /**
   * 1 where the cell is `[+-]digits[.digits]` (a finite number as `Number` reads it, if it has at
   * most 300 bytes), found while splitting; 0 says nothing (`cellNumber` decides).
   */
  plain: Uint8Array;
  count: number;
}

/** What takes the lines: the header's names first, then each row's cells. */
export interface LineSink {
  header(names: string[], line: number): void;
  row(cells: Cells, line: number): void;
}

/** Splits the plain lines of a CSV as its chunks arrive, and says where csv-parse must take over. */
export class PlainLines {
  readonly #sink: LineSink;
  /** Lines read so far, empty ones included (csv-parse counts them too). */
  #line = 0;
  #carry: Buffer | undefined;
  #started = false;
  /** The header's line as read (without `\n`), which csv-parse needs to take over after it. */
  #header: Buffer | undefined;
  #columns = 0;
  /** Whether the first line ended with `\r\n`: every line must end as it did. */
  #crlf: boolean | undefined;
  readonly #cells: Cells = {
    bytes: Buffer.alloc(0),
    starts: new Int32Array(64),
    ends: new Int32Array(64),
    plain: new Uint8Array(64),
    count: 0,
  };

  constructor(sink: LineSink) {
    this.#sink = sink;
  }

  /** Lines read so far. */
  get line(): number {
    return this.#line;
  }

  /** The header line as read, once there is one. */
  get header(): Buffer | undefined {
    return this.#header;
  }

  /** Takes the whole lines of `chunk`; returns the bytes from the first line it cannot take. */
  write(chunk: Uint8Array): Buffer | undefined {
    let bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let at = 0;
    if (this.#carry) {
      // Only the line the last chunk began is copied; the rest is read where it lies.
      const end = bytes.indexOf(LF);
      if (end < 0 || !this.#started) {
        bytes = Buffer.concat([this.#carry, bytes]);
        this.#carry = undefined;
      } else {
        const line = Buffer.concat([this.#carry, bytes.subarray(0, end + 1)]);
        this.#carry = undefined;
        if (!this.#take(line, 0, line.length - 1, true))
          return Buffer.concat([line, bytes.subarray(end + 1)]);
        at = end + 1;
      }
    }
    if (!this.#started) {
      if (bytes.length < BOM.length) {
        this.#carry = bytes;
        return undefined;
      }
      this.#started = true;
      if (BOM.every((b, i) => bytes[i] === b)) at = BOM.length;
    }
    for (let end = bytes.indexOf(LF, at); end >= 0; end = bytes.indexOf(LF, at)) {
      if (!this.#take(bytes, at, end, true)) return bytes.subarray(at);
      at = end + 1;
    }
    if (bytes.length - at > MAX_LINE_BYTES) return bytes.subarray(at);
    if (at < bytes.length) this.#carry = Buffer.from(bytes.subarray(at));
    return undefined;
  }

  /** The file ended: takes its last line; returns it if it cannot. */
  end(): Buffer | undefined {
    const last = this.#carry;
    this.#carry = undefined;
    if (!last || last.length === 0) return undefined;
    let at = 0;
    if (!this.#started && BOM.every((b, i) => last[i] === b)) at = BOM.length;
    return this.#take(last, at, last.length, false) ? undefined : last.subarray(at);
  }

  /** Takes the line `bytes[start, end)`; false (having taken nothing) when csv-parse must. */
  #take(bytes: Buffer, start: number, end: number, terminated: boolean): boolean {
    let stop = end;
    const cr = stop > start && bytes[stop - 1] === CR;
    if (cr) stop--;
    // Line ends other than the first one's (csv-parse counts a stray `\r` as a line of its own).
    if (terminated) this.#crlf ??= cr;
    if (terminated ? this.#crlf !== cr : cr && !this.#crlf) return false;
    let first = start;
    while (first < stop && (bytes[first] === SPACE || bytes[first] === TAB)) first++;
    if (first === stop) {
      // Empty, or blanks only: csv-parse trims them away and skips the line.
      this.#line++;
      return true;
    }
    const count = this.#split(bytes, start, stop);
    if (count < 0) return false;
    if (this.#header && count !== this.#columns) return false;
    this.#line++;
    const cells = this.#cells;
    cells.bytes = bytes;
    cells.count = count;
    if (this.#header) {
      this.#sink.row(cells, this.#line);
      return true;
    }
    const names = Array.from({ length: count }, (_, j) =>
      bytes.toString("utf8", cells.starts[j], cells.ends[j]),
    );
    this.#sink.header(names, this.#line);
    this.#header = Buffer.from(bytes.subarray(start, end));
    this.#columns = count;
    return true;
  }

  /** Splits a line into cells; -1 when it is not plain. */
  #split(b: Buffer, start: number, stop: number): number {
    const cells = this.#cells;
    let count = 0;
    let p = start;
    for (;;) {
      while (p < stop && (b[p] === SPACE || b[p] === TAB)) p++;
      let from: number;
      let to: number;
      let plain = 0;
      if (p < stop && b[p] === QUOTE) {
        from = p + 1;
        to = b.indexOf(QUOTE, from);
        if (to < 0 || to >= stop) return -1;
        p = to + 1;
        if (p < stop && b[p] === QUOTE) return -1; // an escaped quote
        while (p < stop && (b[p] === SPACE || b[p] === TAB)) p++;
        if (p < stop && b[p] !== COMMA) return -1;
      } else {
        from = p;
        // Digits and at most one dot, after an optional sign: a plain number (checked on the way).
        let digits = 0;
        let dots = 0;
        let other = false;
        for (; p < stop; p++) {
          const c = b[p] as number;
          if (c >= DIGIT_0 && c <= DIGIT_9) digits++;
          else if (c === COMMA) break;
          else if (c === DOT) dots++;
          else if ((c === PLUS || c === MINUS) && p === from) continue;
          else if (c === QUOTE || (c < SPACE && c !== TAB)) return -1;
          else other = true;
        }
        to = p;
        while (to > from && (b[to - 1] === SPACE || b[to - 1] === TAB)) to--;
        // A byte of a Unicode space csv-parse would trim.
        if (to > from && ((b[from] as number) >= 0x80 || (b[to - 1] as number) >= 0x80)) return -1;
        if (!other && digits > 0 && dots <= 1 && to - from <= 300) plain = 1;
      }
      if (count === cells.starts.length) this.#grow();
      cells.starts[count] = from;
      cells.ends[count] = to;
      cells.plain[count] = plain;
      count++;
      if (p >= stop) return count;
      p++; // the comma
    }
  }

  #grow(): void {
    const cells = this.#cells;
    const starts = new Int32Array(cells.starts.length * 2);
    const ends = new Int32Array(starts.length);
    const plain = new Uint8Array(starts.length);
    starts.set(cells.starts);
    ends.set(cells.ends);
    plain.set(cells.plain);
    cells.starts = starts;
    cells.ends = ends;
    cells.plain = plain;
  }
}
