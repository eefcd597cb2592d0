import {
  type NatsConnection,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from "@nats-io/transport-node";
import type { RemoteHandler, RemotePort } from "../actors/remote.ts";
import { AskTimeoutError, NoResponderError } from "../errors.ts";

export interface NatsRemotePortOptions {
  /** Subject prefix (`TROUPE_PREFIX`). @default "troupe" */
  prefix?: string;
}

/** The NATS side of a `RemotePort`, with `flush()` to know subscriptions reached the server. */
export interface NatsRemotePort extends RemotePort {
  /** Resolves once every `serve` so far is known to the server (a round trip). */
  flush(): Promise<void>;
}

/**
 * Carries actor messages over core NATS: an actor named `n` is served on `<prefix>.actor.n`
 * (queue group `<prefix>.actor`, so one process answers each message if a name is served twice).
 * NATS failures become the actor errors: no responders → `NoResponderError` (at once, thanks to
 * the server's no-responders status), timeout → `AskTimeoutError`.
 */
export function createNatsRemotePort(
  nc: NatsConnection,
  options: NatsRemotePortOptions = {},
): NatsRemotePort {
  const prefix = `${options.prefix ?? "troupe"}.actor`;
  const subject = (name: string) => `${prefix}.${name}`;
  return {
    serve(name: string, handler: RemoteHandler): () => void {
      const subscription = nc.subscribe(subject(name), {
        queue: prefix,
        callback: (error, msg) => {
          if (error !== null) return;
          const reply = msg.reply;
          handler(
            msg.data,
            reply === undefined || reply === "" ? undefined : (payload) => msg.respond(payload),
          );
        },
      });
      return () => subscription.unsubscribe();
    },

    async request(name: string, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
      try {
        // nats.js needs a finite timeout within setTimeout's range (2^31 - 1 ms).
        const timeout = Math.min(Math.max(1, timeoutMs), 2_147_483_647);
        const msg = await nc.request(subject(name), payload, { timeout });
        return msg.data;
      } catch (error) {
        throw toActorError(error, name, timeoutMs);
      }
    },

    send(name: string, payload: Uint8Array): void {
      nc.publish(subject(name), payload);
    },

    flush(): Promise<void> {
      return nc.flush();
    },
  };
}

function toActorError(error: unknown, name: string, timeoutMs: number): unknown {
  if (
    error instanceof NoRespondersError ||
    (error instanceof RequestError && error.isNoResponders())
  ) {
    return new NoResponderError(`no actor named "${name}" in the cluster`);
  }
  if (error instanceof TimeoutError) {
    return new AskTimeoutError(`ask to remote actor "${name}" timed out after ${timeoutMs} ms`);
  }
  return error;
}
