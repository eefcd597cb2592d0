import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import type { LogFileConfig } from "./config.ts";

/**
 * A log file rotated by size as Python's `RotatingFileHandler` does it (seed 003's LOG_FILE,
 * LOG_MAX_BYTES, LOG_BACKUP_COUNT): before a line that would take the file past `maxBytes`, the
 * file becomes `<path>.1` (`.1` becomes `.2`…, the oldest past `backupCount` removed) and a new
 * one starts. Written synchronously, like pino's stdout, from the main thread.
 *
 * Not pino-roll: it rolls after the write that crosses its size, on the next tick, so a burst of
 * lines all lands in one file (measured here: 1.16 MB in a file of a 100 kB limit).
 */
export class RotatingFile {
  readonly #o: LogFileConfig;
  #fd: number;
  #size: number;

  constructor(options: LogFileConfig) {
    this.#o = options;
    mkdirSync(dirname(options.path), { recursive: true });
    this.#fd = openSync(options.path, "a");
    this.#size = fstatSync(this.#fd).size;
  }

  /** Writes one line (a pino JSON line with its newline). */
  write(line: string): void {
    const bytes = Buffer.byteLength(line);
    // A line longer than the limit alone still gets a file of its own rather than being lost.
    if (this.#size > 0 && this.#size + bytes > this.#o.maxBytes) this.#rotate();
    writeSync(this.#fd, line);
    this.#size += bytes;
  }

  #rotate(): void {
    closeSync(this.#fd);
    const { path, backupCount } = this.#o;
    if (backupCount === 0) {
      rmSync(path, { force: true });
    } else {
      rmSync(`${path}.${backupCount}`, { force: true });
      for (let i = backupCount - 1; i >= 1; i--) {
        if (existsSync(`${path}.${i}`)) renameSync(`${path}.${i}`, `${path}.${i + 1}`);
      }
      renameSync(path, `${path}.1`);
    }
    this.#fd = openSync(path, "a");
    this.#size = 0;
  }
}
