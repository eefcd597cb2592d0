import type { Gateway } from "../jobs/gateway.ts";

/** What the HTTP facade calls: the gateway functions the NATS service uses, nothing more. */
export type GatewayApi = Pick<
  Gateway,
  "submit" | "get" | "list" | "cancel" | "workers" | "worker" | "queueStatus"
>;
