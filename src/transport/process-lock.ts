import { createHash } from "node:crypto";
import { createServer } from "node:net";

/** A lock held by this process until released (or until the process exits, however it exits). */
export interface ProcessLock {
  release(): Promise<void>;
}

/**
 * Takes the machine-wide lock named `key`, or resolves undefined when another process holds it.
 *
 * The lock is a listening abstract Unix socket (Linux): the kernel frees it when its process
 * exits, even on `kill -9`, so there is no stale lock file to guess about. Abstract sockets
 * belong to a network namespace, as do the loopback ports the lock guards.
 */
export function tryLock(key: string): Promise<ProcessLock | undefined> {
  const name = `\0troupe-${createHash("sha256").update(key).digest("hex").slice(0, 40)}`;
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.destroy());
    // Holding the lock must not keep an otherwise finished process alive.
    server.unref();
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") resolve(undefined);
      else reject(error);
    });
    server.listen({ path: name }, () => {
      let released: Promise<void> | undefined;
      resolve({
        release: () => {
          released ??= new Promise((done) => server.close(() => done()));
          return released;
        },
      });
    });
  });
}
