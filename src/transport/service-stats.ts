/**
 * The `io.nats.micro.v1` discovery payloads (ADR-32; schemas in nats-io/jsm.go
 * `schemas/micro/v1/{ping,info,stats}_response.json`) and the per-endpoint counters behind STATS.
 * Field names are the wire names (snake_case); durations are integer nanoseconds.
 */

/** Service and endpoint names: what the `io.nats.micro.v1` schemas accept. */
export const SERVICE_NAME_PATTERN = /^[a-zA-Z0-9_-]+$/;

/** The official SemVer 2.0 expression, as the `io.nats.micro.v1` schemas spell it. */
export const SEMVER_PATTERN =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** Free-form string metadata, immutable once set (ADR-33). */
export type Metadata = Readonly<Record<string, string>>;

/** The fields every `$SRV` reply carries. */
interface ServiceIdentity {
  name: string;
  id: string;
  version: string;
  metadata: Metadata;
}

/** The reply to `$SRV.PING[.<name>[.<id>]]`. */
export interface PingResponse extends ServiceIdentity {
  type: "io.nats.micro.v1.ping_response";
}

/** One endpoint as `$SRV.INFO` describes it. */
export interface EndpointInfo {
  name: string;
  subject: string;
  /** Absent when the endpoint is a plain (not queue) subscription. */
  queue_group?: string;
  metadata: Metadata;
}

/** The reply to `$SRV.INFO[.<name>[.<id>]]`. */
export interface InfoResponse extends ServiceIdentity {
  type: "io.nats.micro.v1.info_response";
  description: string;
  endpoints: EndpointInfo[];
}

/** One endpoint's counters as `$SRV.STATS` reports them. */
export interface EndpointStats {
  name: string;
  subject: string;
  queue_group?: string;
  num_requests: number;
  num_errors: number;
  /** `"<serviceCode>:<message>"` of the last error, or `""` when there was none. */
  last_error: string;
  /** Total time spent handling requests, in nanoseconds. */
  processing_time: number;
  /** `processing_time / num_requests`, truncated; 0 before the first request. */
  average_processing_time: number;
  /** Additional statistics; always an object (older schema versions require one). */
  data: Record<string, unknown>;
}

/** The reply to `$SRV.STATS[.<name>[.<id>]]`. */
export interface StatsResponse extends ServiceIdentity {
  type: "io.nats.micro.v1.stats_response";
  /** When the service started (RFC 3339, UTC). */
  started: string;
  endpoints: EndpointStats[];
}

const NANOS_PER_MILLI = 1e6;

/**
 * Counters for one endpoint. Time is accumulated in fractional milliseconds from
 * `performance.now()` (no bigint per request) and converted to nanoseconds only when reported;
 * a double holds whole nanoseconds exactly up to about 104 days of total handling time.
 */
export class EndpointCounters {
  numRequests = 0;
  numErrors = 0;
  lastError = "";
  processingMs = 0;

  /** Counts one handled request that took `elapsedMs`. */
  record(elapsedMs: number): void {
    this.numRequests++;
    this.processingMs += elapsedMs;
  }

  /** Counts one handled request that ended in an error. */
  recordError(elapsedMs: number, serviceCode: number, message: string): void {
    this.numRequests++;
    this.processingMs += elapsedMs;
    this.numErrors++;
    this.lastError = `${serviceCode}:${message}`;
  }

  reset(): void {
    this.numRequests = 0;
    this.numErrors = 0;
    this.lastError = "";
    this.processingMs = 0;
  }

  /** The STATS entry for the endpoint described by `info`. */
  toStats(info: EndpointInfo): EndpointStats {
    const processing = Math.round(this.processingMs * NANOS_PER_MILLI);
    const stats: EndpointStats = {
      name: info.name,
      subject: info.subject,
      num_requests: this.numRequests,
      num_errors: this.numErrors,
      last_error: this.lastError,
      processing_time: processing,
      average_processing_time:
        this.numRequests === 0 ? 0 : Math.trunc(processing / this.numRequests),
      data: {},
    };
    if (info.queue_group !== undefined) stats.queue_group = info.queue_group;
    return stats;
  }
}
