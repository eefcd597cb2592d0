import type { ObjectResult } from "@nats-io/obj";

/** An object's chunks as they are read; throws at the end if the read was not whole. */
export async function* chunksOf(result: ObjectResult): AsyncGenerator<Uint8Array> {
  const reader = result.data.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield value;
    }
    const error = await result.error;
    if (error) throw error;
  } finally {
    reader.releaseLock();
  }
}
