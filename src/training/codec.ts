/**
 * The compact binary form of checkpoints and model artifacts: msgpack with typed arrays kept as
 * typed arrays. `moreTypes` matters: without it msgpackr writes a Float64Array as mangled bytes.
 */
import { Packr } from "msgpackr";

const packr = new Packr({ useRecords: false, moreTypes: true });

/** Encodes `value`; the bytes own their buffer (msgpackr reuses its own), so they can be moved. */
export function encode(value: unknown): Uint8Array {
  return new Uint8Array(packr.pack(value));
}

export function decode(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}
