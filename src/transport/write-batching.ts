import type { Socket } from "node:net";
import type { NatsConnection } from "@nats-io/transport-node";
import { onConnectionChange } from "./disconnects.ts";

/** The parts of nats.js (pinned in package.json) that hold the connection's current socket. */
interface Internals {
  protocol?: { transport?: { socket?: Socket } };
}

const batched = new WeakSet<Socket>();

/**
 * Makes the connection's writes of one event-loop turn leave in one system call. nats.js writes
 * to its socket at every microtask checkpoint that has something to send, so a busy turn — a
 * KV write resolving here, an event there, an ack after that, each in its own promise callback —
 * costs a write each; on a loaded machine those writes were the largest single item of a
 * profiled job's main thread. The socket is corked from a turn's first write until the turn's
 * check phase, which sends what was written as one `writev`, in order. Every socket the
 * connection gets (it makes a new one each reconnect) is batched. Where the internals are not
 * as expected, writes simply stay unbatched.
 */
export function batchSocketWrites(nc: NatsConnection): void {
  const batch = () => {
    const socket = (nc as unknown as Internals).protocol?.transport?.socket;
    if (!socket || batched.has(socket)) return;
    batched.add(socket);
    const write = socket.write;
    let corked = false;
    // Same arguments, same result: only when the bytes leave changes.
    socket.write = function (this: Socket, ...args: Parameters<Socket["write"]>) {
      if (!corked) {
        corked = true;
        socket.cork();
        setImmediate(() => {
          corked = false;
          socket.uncork();
        });
      }
      return write.apply(this, args);
    } as Socket["write"];
  };
  batch();
  onConnectionChange(nc, ["reconnect"], batch);
}
