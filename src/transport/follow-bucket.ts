import type { NatsConnection } from "./connection.ts";
import { onConnectionChange } from "./disconnects.ts";
import type { KV } from "./kv.ts";

/**
 * Every key's value now, then each change (undefined: deleted), through a KV watch started over
 * (with `onReset`) after a reconnect, so the view is whole again after a gap.
 */
export function followBucket(
  nc: NatsConnection,
  kv: KV,
  onChange: (key: string, value: Uint8Array | undefined) => void,
  onReset: () => void = () => undefined,
): () => void {
  let stopped = false;
  let stopWatch: (() => void) | undefined;
  const start = async () => {
    stopWatch?.();
    onReset();
    const watch = await kv.watch({ key: ">" });
    stopWatch = () => watch.stop();
    if (stopped) watch.stop();
    for await (const entry of watch) {
      onChange(entry.key, entry.operation === "PUT" ? entry.value : undefined);
    }
  };
  const run = () => {
    start().catch(() => {
      if (!stopped) setTimeout(run, 500).unref();
    });
  };
  run();
  const unlisten = onConnectionChange(nc, ["reconnect"], run);
  return () => {
    stopped = true;
    unlisten();
    stopWatch?.();
  };
}
