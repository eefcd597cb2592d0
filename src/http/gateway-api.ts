import type { Gateway } from "../jobs/gateway.ts";

/** What the HTTP facade calls: the gateway, nothing deeper. */
export type GatewayApi = Pick<
  Gateway,
  | "submit"
  | "get"
  | "list"
  | "cancel"
  | "workers"
  | "worker"
  | "queueStatus"
  | "priority"
  | "reorder"
  | "pause"
  | "analytics"
  | "resume"
  | "watch"
  | "isReady"
  | "health"
  | "cleanup"
  | "data"
  | "addDependencies"
  | "workflows"
  | "templates"
  | "checkJob"
  | "resourcesAvailability"
>;
