import type { RejectedEvent } from "../contract/events.ts";
import { NotReadyError } from "../errors.ts";
import type { Gateway } from "../jobs/gateway.ts";
import type { Logger } from "../log.ts";
import { decodeBody, MAX_REQUEST_BYTES } from "../transport/codec.ts";
import type { NatsConnection } from "../transport/connection.ts";
import { EventPublisher } from "../transport/events.ts";
import { type Service, startService, type Unanswered } from "../transport/service.ts";
import type { Names } from "../transport/subjects.ts";

/**
 * Serves the public request subjects (DESIGN §2.3) as the NATS micro service `troupe`, each a
 * thin call into the gateway. A plain publish to the submit subject submits too (its reply is
 * dropped); a plain publish that is refused (a bad spec) is logged and published as an event on
 * `troupe.events.rejected`, the one place its sender can see it.
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
  const events = new EventPublisher(nc, names);
  const onUnanswered = (failure: Unanswered) => events.rejected(rejectedEvent(failure));
  const api = names.api;
  const endpoints: [string, string, (body: unknown) => Promise<unknown>][] = [
    ["jobs-submit", api.submit, (body) => gateway.submit(body)],
    ["jobs-get", api.get, (body) => gateway.get(body)],
    ["jobs-list", api.list, (body) => gateway.list(body)],
    ["jobs-cancel", api.cancel, (body) => gateway.cancel(body)],
    ["workers-list", api.workersList, (body) => gateway.workers(body)],
    [
      "resources-availability",
      api.resourcesAvailability,
      (body) => gateway.resourcesAvailability(body),
    ],
    ["queue-status", api.queueStatus, (body) => gateway.queueStatus(body)],
    ["jobs-priority", api.priority, (body) => gateway.priority(body)],
    ["queue-reorder", api.reorder, (body) => gateway.reorder(body)],
    ["jobs-pause", api.pause, (body) => gateway.pause(body)],
    ["jobs-resume", api.resume, (body) => gateway.resume(body)],
    ["analytics-get", api.analytics, (body) => gateway.analytics(body)],
    ["admin-cleanup", api.adminCleanup, (body) => gateway.cleanup(body)],
    ["jobs-artifacts", api.jobsArtifacts, (body) => artifactsOf(gateway, body)],
    ["jobs-dependencies", api.jobsDependencies, (body) => gateway.addDependencies(body)],
    ["workflows-submit", api.workflowsSubmit, (body) => gateway.workflows.submit(body)],
    ["workflows-get", api.workflowsGet, (body) => gateway.workflows.get(body)],
    ["workflows-list", api.workflowsList, (body) => gateway.workflows.list(body)],
    ["workflows-cancel", api.workflowsCancel, (body) => gateway.workflows.cancel(body)],
    ["templates-list", api.templatesList, (body) => gateway.templates.list(body)],
    ["templates-get", api.templatesGet, (body) => gateway.templates.get(body)],
    ["templates-create", api.templatesCreate, (body) => gateway.templates.create(body)],
    ["templates-delete", api.templatesDelete, (body) => gateway.templates.delete(body)],
  ];
  try {
    for (const [name, subject, call] of endpoints) {
      await service.addEndpoint(name, {
        subject,
        handler: (request) => call(request.body),
        onUnanswered,
      });
    }
  } catch (error) {
    // A connection lost while the endpoints were added: nothing half-served stays behind.
    await service.stop();
    throw error;
  }
  return service;
}

/** A job's artifacts, from a process that serves data sets. */
function artifactsOf(gateway: Gateway, body: unknown) {
  if (!gateway.data) throw new NotReadyError("this process serves no artifacts");
  return gateway.data.artifacts(body);
}

/** Fields of the body that tell its sender which publish was refused. */
const CORRELATING = ["idempotency_key", "name", "user_id", "job_id"] as const;
const MAX_CORRELATING_CHARS = 256;

/** The event for a refused plain publish: the error, and what its body says of itself. */
function rejectedEvent(failure: Unanswered): Omit<RejectedEvent, "type" | "at"> {
  const event: Omit<RejectedEvent, "type" | "at"> = {
    subject: failure.subject,
    ...failure.error,
    received_at: new Date(failure.receivedAt).toISOString(),
  };
  if (failure.data.length > MAX_REQUEST_BYTES) return event; // too large to look into
  let body: unknown;
  try {
    body = decodeBody(failure.data, failure.encoding);
  } catch {
    return event; // not decodable: the error says so, and there is nothing to correlate
  }
  if (typeof body !== "object" || body === null) return event;
  for (const field of CORRELATING) {
    const value = (body as Record<string, unknown>)[field];
    if (typeof value === "string" && value.length <= MAX_CORRELATING_CHARS) event[field] = value;
  }
  return event;
}
