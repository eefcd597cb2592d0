/**
 * A small deterministic PRNG (sfc32, 128-bit state) whose state fits a checkpoint, plus seed mixing
 * so independent streams (data rows, weight init, each task's shuffles) derive from one seed.
 */

/** murmur3's 32-bit finalizer: a cheap, well-mixing bijection. */
export function mix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Stream keys: distinct constants so the streams of one seed never coincide. */
export const Stream = Object.freeze({
  centres: 0x63656e74,
  row: 0x726f7773,
  init: 0x696e6974,
  task: 0x7461736b,
  /** The order of a named data set's rows (built-in samples are sorted by class). */
  order: 0x6f726472,
});

export class Rng {
  #a = 0;
  #b = 0;
  #c = 0;
  #d = 0;

  /** A generator seeded from any number of 32-bit keys (seed, stream, index…). */
  constructor(...keys: number[]) {
    this.reseed(...keys);
  }

  /** Re-seeds in place (no allocation): used once per generated data row. */
  reseed(...keys: number[]): void {
    let h = 0x9e3779b9;
    for (const key of keys) h = mix32(h ^ mix32(key + 0x7f4a7c15));
    this.#a = mix32(h + 0x243f6a88);
    this.#b = mix32(h + 0x85a308d3);
    this.#c = mix32(h + 0x13198a2e);
    this.#d = 1;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  nextInt(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box–Muller; one value of the pair, so no hidden state). */
  gaussian(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fisher–Yates shuffle of `values` in place. */
  shuffle(values: Uint32Array | Int32Array): void {
    for (let i = values.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const swap = values[i] as number;
      values[i] = values[j] as number;
      values[j] = swap;
    }
  }

  /** The full state, for a checkpoint. */
  state(): Uint32Array {
    return Uint32Array.of(this.#a, this.#b, this.#c, this.#d);
  }

  /** A generator continuing exactly from `state`. */
  static fromState(state: Uint32Array): Rng {
    if (state.length !== 4) throw new RangeError("an Rng state has 4 words");
    const rng = new Rng(0);
    rng.#a = state[0] as number;
    rng.#b = state[1] as number;
    rng.#c = state[2] as number;
    rng.#d = state[3] as number;
    return rng;
  }
}
