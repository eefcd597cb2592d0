import type { NatsConnection } from "./connection.ts";
import type { Topology } from "./streams.ts";
import type { Names } from "./subjects.ts";

export interface NatsReadinessOptions {
  nc: NatsConnection;
  jsm: Topology["jsm"];
  names: Names;
  /**
   * How long the stream look-ups may take before the answer is "not ready".
   * @default 2_000 — well under a probe's usual 5 s timeout, far above a healthy round trip.
   */
  timeoutMs?: number;
}

/** `isReady` for `/readyz`, and `close()` to stop watching the connection. */
export interface NatsReadiness {
  isReady(): Promise<boolean>;
  close(): void;
}

/**
 * Ready when the connection is up (tracked from its status events, so a disconnect answers at
 * once, without waiting for a request to time out) and the job and task streams exist.
 */
export function natsReadiness(options: NatsReadinessOptions): NatsReadiness {
  const { nc, jsm, names } = options;
  const timeoutMs = options.timeoutMs ?? 2_000;
  let connected = !nc.isClosed();
  const status = nc.status();
  void (async () => {
    for await (const s of status) {
      if (s.type === "disconnect" || s.type === "reconnecting") connected = false;
      else if (s.type === "reconnect") connected = true;
    }
  })().catch(() => undefined);

  async function streamsPresent(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const lookups = Promise.all([
      jsm.streams.info(names.jobsStream),
      jsm.streams.info(names.tasksStream),
    ]).then(
      () => true,
      () => false,
    );
    try {
      return await Promise.race([lookups, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    async isReady() {
      if (!connected || nc.isClosed()) return false;
      return streamsPresent();
    },
    close() {
      // The status iterator of nats.js stops with `stop()`; it is not part of the typed surface.
      (status as Partial<{ stop(): void }>).stop?.();
    },
  };
}
