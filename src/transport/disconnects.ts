import type { NatsConnection } from "@nats-io/transport-node";

/** `disconnect`: the line to NATS dropped. `reconnect`: it is back, perhaps to a fresh server. */
export type ConnectionChange = "disconnect" | "reconnect";

interface Watcher {
  changes: readonly ConnectionChange[];
  notify(): void;
}

const watchers = new WeakMap<NatsConnection, Set<Watcher>>();

/**
 * Calls `notify` on each of `changes` of the connection. A request in flight when the line drops
 * may never be answered — the server that would answer may be restarting — and one sent on
 * reconnect may reach a server whose JetStream is not serving yet, which drops it: whoever waits
 * for an answer can stop waiting then instead of at its timeout. Returns the way to stop. One
 * status watch per connection.
 */
export function onConnectionChange(
  nc: NatsConnection,
  changes: readonly ConnectionChange[],
  notify: () => void,
): () => void {
  let set = watchers.get(nc);
  if (!set) {
    const created = new Set<Watcher>();
    set = created;
    watchers.set(nc, created);
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type !== "disconnect" && status.type !== "reconnect") continue;
        for (const watcher of [...created]) {
          if (watcher.changes.includes(status.type)) watcher.notify();
        }
      }
    })();
  }
  const watcher = { changes, notify };
  set.add(watcher);
  return () => set.delete(watcher);
}
