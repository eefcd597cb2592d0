import { createServer } from "node:net";
import { EMBEDDED_MONITOR_PORT_OFFSET } from "../../src/config.ts";

/** Asks the kernel for a free loopback TCP port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("no port assigned"));
      });
    });
  });
}

/** A free port for an embedded nats-server whose monitoring port, 4000 above, is free too. */
export async function freeEmbeddedPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (
      port + EMBEDDED_MONITOR_PORT_OFFSET <= 65_535 &&
      (await isFree(port + EMBEDDED_MONITOR_PORT_OFFSET))
    )
      return port;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
