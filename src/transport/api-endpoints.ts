import type { Gateway } from "../jobs/gateway.ts";
import type { Logger } from "../log.ts";
import type { NatsConnection } from "./connection.ts";
import { type Service, startService } from "./service.ts";
import type { Names } from "./subjects.ts";

/**
 * Serves the public request subjects (DESIGN §2.3) as the NATS micro service `troupe`, each a
 * thin call into the gateway. A plain publish to the submit subject submits too (its reply is
 * dropped; a bad spec is logged).
 */
export async function serveApi(options: {
  nc: NatsConnection;
  names: Names;
  gateway: Gateway;
  version: string;
  log: Logger;
}): Promise<Service> {
  const { nc, names, gateway, version, log } = options;
  const service = await startService(nc, {
    name: "troupe",
    version,
    description: "Troupe: training jobs on an actor cluster",
    logger: log.child({ component: "nats-api" }),
  });
  const api = names.api;
  const endpoints: [string, string, (body: unknown) => Promise<unknown>][] = [
    ["jobs-submit", api.submit, (body) => gateway.submit(body)],
    ["jobs-get", api.get, (body) => gateway.get(body)],
    ["jobs-list", api.list, (body) => gateway.list(body)],
    ["jobs-cancel", api.cancel, (body) => gateway.cancel(body)],
    ["workers-list", api.workersList, (body) => gateway.workers(body)],
    ["queue-status", api.queueStatus, (body) => gateway.queueStatus(body)],
  ];
  try {
    for (const [name, subject, call] of endpoints) {
      await service.addEndpoint(name, { subject, handler: (request) => call(request.body) });
    }
  } catch (error) {
    // A connection lost while the endpoints were added: nothing half-served stays behind.
    await service.stop();
    throw error;
  }
  return service;
}
