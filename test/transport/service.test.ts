import { readFileSync } from "node:fs";
import {
  connect,
  headers,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  RequestError,
} from "@nats-io/transport-node";
import { pack, unpack } from "msgpackr";
import Schema from "typebox/schema";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, TroupeError } from "../../src/errors.ts";
import {
  type Service,
  type ServiceLogger,
  type ServiceRequest,
  startService,
} from "../../src/transport/service.ts";
import { type NatsServer, startNats } from "../support/nats.ts";

// The io.nats.micro.v1 schemas the nats CLI checks replies against (see fixtures/README.md).
function validator(file: string) {
  const schema = JSON.parse(readFileSync(new URL(`fixtures/${file}`, import.meta.url), "utf8"));
  return Schema.Compile(schema);
}
const schemas = {
  PING: validator("ping_response.json"),
  INFO: validator("info_response.json"),
  STATS: validator("stats_response.json"),
};

/** Asserts `value` conforms, showing the schema's own error messages when it does not. */
function expectConforms(verb: keyof typeof schemas, value: unknown): void {
  const [, errors] = schemas[verb].Errors(value);
  expect(errors.map((e) => `${e.instancePath} ${e.message}`)).toEqual([]);
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const json = (msg: Msg): unknown => JSON.parse(decoder.decode(msg.data));
const bytes = (text: string): Uint8Array => encoder.encode(text);
const TIMEOUT = { timeout: 5_000 };

function msgpackHeaders(): MsgHdrs {
  const h = headers();
  h.set("Content-Type", "application/msgpack");
  return h;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}
function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function collectingLogger() {
  const entries: { level: "warn" | "error"; details: object; message: string }[] = [];
  const logger: ServiceLogger = {
    warn: (details, message) => entries.push({ level: "warn", details, message }),
    error: (details, message) => entries.push({ level: "error", details, message }),
  };
  return { logger, entries };
}

let server: NatsServer;
let serviceNc: NatsConnection;
let client: NatsConnection;
let services: Service[];
let seq = 0;
let name: string;

beforeAll(async () => {
  server = await startNats({ jetstream: false });
});

beforeEach(async () => {
  serviceNc = await connect({ servers: server.url });
  client = await connect({ servers: server.url });
  services = [];
  name = `svc-${++seq}`;
});

afterEach(async () => {
  await Promise.all(services.map((svc) => svc.stop()));
  await Promise.all([serviceNc.close(), client.close()]);
});

async function start(
  options: Partial<Parameters<typeof startService>[1]> = {},
  nc = serviceNc,
): Promise<Service> {
  const svc = await startService(nc, {
    name,
    version: "0.1.0",
    description: "test service",
    logger: collectingLogger().logger,
    ...options,
  });
  services.push(svc);
  return svc;
}

describe("discovery", () => {
  it("answers PING, INFO and STATS on all three subject forms with replies the io.nats.micro.v1 schemas accept", async () => {
    const svc = await start({ metadata: { team: "ml" } });
    await svc.addEndpoint("jobs-get", {
      subject: `${name}.jobs.get`,
      metadata: { doc: "one job" },
      handler: () => ({ ok: true }),
    });
    await client.request(`${name}.jobs.get`, bytes("{}"), TIMEOUT);

    for (const verb of ["PING", "INFO", "STATS"] as const) {
      for (const subject of [
        `$SRV.${verb}`,
        `$SRV.${verb}.${name}`,
        `$SRV.${verb}.${name}.${svc.id}`,
      ]) {
        const reply = json(await client.request(subject, undefined, TIMEOUT));
        expectConforms(verb, reply);
        expect(reply).toMatchObject({
          name,
          id: svc.id,
          version: "0.1.0",
          metadata: { team: "ml" },
        });
      }
    }

    const info = json(await client.request(`$SRV.INFO.${name}`, undefined, TIMEOUT));
    expect(info).toMatchObject({
      description: "test service",
      endpoints: [
        {
          name: "jobs-get",
          subject: `${name}.jobs.get`,
          queue_group: "q",
          metadata: { doc: "one job" },
        },
      ],
    });
    const stats = json(await client.request(`$SRV.STATS.${name}`, undefined, TIMEOUT));
    expect(stats).toEqual(svc.stats());
    expect(svc.stats().endpoints[0]).toMatchObject({
      name: "jobs-get",
      queue_group: "q",
      num_requests: 1,
      num_errors: 0,
      last_error: "",
      data: {},
    });
  });

  it("reports processing time in whole nanoseconds, the average being the total over the request count", async () => {
    const svc = await start();
    await svc.addEndpoint("echo", { subject: `${name}.echo`, handler: (req) => req.body });
    for (let i = 0; i < 3; i++) await client.request(`${name}.echo`, bytes(`{"i":${i}}`), TIMEOUT);

    const [endpoint] = svc.stats().endpoints;
    expect(endpoint?.num_requests).toBe(3);
    expect(Number.isInteger(endpoint?.processing_time)).toBe(true);
    expect(endpoint?.processing_time).toBeGreaterThan(0);
    expect(endpoint?.average_processing_time).toBe(
      Math.trunc((endpoint?.processing_time ?? 0) / 3),
    );
  });

  it("rejects names and versions the schemas would refuse, naming the option", async () => {
    await expect(start({ version: "1.0" })).rejects.toMatchObject({
      constructor: ConfigError,
      variable: "version",
    });
    await expect(start({ name: "troupe.jobs" })).rejects.toBeInstanceOf(ConfigError);
    const svc = await start();
    expect(() =>
      svc.addEndpoint("jobs.submit", { subject: "troupe.jobs.submit", handler: () => null }),
    ).toThrow(/endpoint name must match/);
  });
});

describe("requests", () => {
  it("replies in JSON to a JSON request, handing the handler the decoded body", async () => {
    const svc = await start();
    const seen = deferred<ServiceRequest>();
    await svc.addEndpoint("echo", {
      subject: `${name}.echo`,
      handler: (req) => {
        seen.resolve(req);
        return { echo: req.body };
      },
    });

    const reply = await client.request(`${name}.echo`, bytes('{"job_id":"j1"}'), TIMEOUT);

    expect(json(reply)).toEqual({ echo: { job_id: "j1" } });
    expect(reply.headers).toBeUndefined();
    const req = await seen.promise;
    expect(req).toMatchObject({ subject: `${name}.echo`, encoding: "json", expectsReply: true });
    expect(decoder.decode(req.data)).toBe('{"job_id":"j1"}');
  });

  it("replies in msgpack to a request with Content-Type: application/msgpack", async () => {
    const svc = await start();
    await svc.addEndpoint("echo", {
      subject: `${name}.echo`,
      handler: (req) => ({ echo: req.body, encoding: req.encoding }),
    });

    const reply = await client.request(`${name}.echo`, pack({ job_id: "j1", n: 7 }), {
      ...TIMEOUT,
      headers: msgpackHeaders(),
    });

    expect(unpack(reply.data)).toEqual({ echo: { job_id: "j1", n: 7 }, encoding: "msgpack" });
    expect(() => json(reply)).toThrow(SyntaxError);
  });

  it("hands a plain publish (no reply subject) to the handler", async () => {
    const svc = await start();
    const seen = deferred<ServiceRequest>();
    await svc.addEndpoint("submit", {
      subject: `${name}.submit`,
      handler: (req) => {
        seen.resolve(req);
        return { accepted: true };
      },
    });

    client.publish(`${name}.submit`, bytes('{"name":"churn"}'));

    const req = await seen.promise;
    expect(req.expectsReply).toBe(false);
    expect(req.body).toEqual({ name: "churn" });
  });

  it("runs handlers concurrently, so a slow request does not hold up the next", async () => {
    const svc = await start();
    const second = deferred();
    await svc.addEndpoint("work", {
      subject: `${name}.work`,
      handler: async (req) => {
        const { n } = req.body as { n: number };
        // The first request waits for the second to arrive: sequential handling would deadlock.
        if (n === 1) await second.promise;
        else second.resolve();
        return { n };
      },
    });

    const replies = await Promise.all([
      client.request(`${name}.work`, bytes('{"n":1}'), TIMEOUT),
      client.request(`${name}.work`, bytes('{"n":2}'), TIMEOUT),
    ]);

    expect(replies.map(json)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it("replies to an empty body, which the handler sees as undefined", async () => {
    const svc = await start();
    await svc.addEndpoint("status", {
      subject: `${name}.status`,
      handler: (req) => ({ body: req.body ?? null }),
    });

    const reply = await client.request(`${name}.status`, undefined, TIMEOUT);

    expect(json(reply)).toEqual({ body: null });
  });
});

describe("errors", () => {
  it("turns a thrown TroupeError into an error reply with the service error headers, counted in STATS", async () => {
    const svc = await start();
    await svc.addEndpoint("get", {
      subject: `${name}.get`,
      handler: async () => {
        throw new TroupeError("TROUPE_ERR_JOB_NOT_FOUND", "job j9 not found", { statusCode: 404 });
      },
    });

    const reply = await client.request(`${name}.get`, bytes('{"job_id":"j9"}'), TIMEOUT);

    expect(json(reply)).toEqual({
      error: { code: "TROUPE_ERR_JOB_NOT_FOUND", message: "job j9 not found" },
    });
    expect(reply.headers?.get("Nats-Service-Error")).toBe("job j9 not found");
    expect(reply.headers?.get("Nats-Service-Error-Code")).toBe("404");
    const stats = json(await client.request(`$SRV.STATS.${name}.${svc.id}`, undefined, TIMEOUT));
    expectConforms("STATS", stats);
    expect(stats).toMatchObject({
      endpoints: [{ num_requests: 1, num_errors: 1, last_error: "404:job j9 not found" }],
    });
  });

  it("sends the error body in msgpack when the request was msgpack", async () => {
    const svc = await start();
    await svc.addEndpoint("get", {
      subject: `${name}.get`,
      handler: () => {
        throw new TroupeError("TROUPE_ERR_JOB_NOT_FOUND", "job j9 not found", { statusCode: 404 });
      },
    });

    const reply = await client.request(`${name}.get`, pack({ job_id: "j9" }), {
      ...TIMEOUT,
      headers: msgpackHeaders(),
    });

    expect(unpack(reply.data)).toEqual({
      error: { code: "TROUPE_ERR_JOB_NOT_FOUND", message: "job j9 not found" },
    });
    expect(reply.headers?.get("Nats-Service-Error-Code")).toBe("404");
  });

  it("answers any other error with a generic 500, hiding its message, and logs it", async () => {
    const { logger, entries } = collectingLogger();
    const svc = await start({ logger });
    const bug = new Error("connection string postgres://secret");
    await svc.addEndpoint("get", {
      subject: `${name}.get`,
      handler: () => {
        throw bug;
      },
    });

    const reply = await client.request(`${name}.get`, bytes("{}"), TIMEOUT);

    expect(json(reply)).toEqual({
      error: { code: "TROUPE_ERR_INTERNAL", message: "internal error" },
    });
    expect(reply.headers?.get("Nats-Service-Error-Code")).toBe("500");
    expect(decoder.decode(reply.data)).not.toContain("secret");
    expect(entries).toEqual([
      expect.objectContaining({ level: "error", details: expect.objectContaining({ err: bug }) }),
    ]);
    expect(svc.stats().endpoints[0]).toMatchObject({
      num_errors: 1,
      last_error: "500:internal error",
    });
  });

  it("answers malformed JSON with a 400 naming the problem, and serves the next request", async () => {
    const svc = await start();
    let calls = 0;
    await svc.addEndpoint("echo", {
      subject: `${name}.echo`,
      handler: (req) => {
        calls++;
        return req.body;
      },
    });

    const bad = await client.request(`${name}.echo`, bytes('{"job_id": '), TIMEOUT);

    expect(bad.headers?.get("Nats-Service-Error-Code")).toBe("400");
    expect(bad.headers?.get("Nats-Service-Error")).toMatch(
      /^invalid request body: .*not valid JSON: /,
    );
    expect(json(bad)).toMatchObject({
      error: {
        code: "TROUPE_ERR_INVALID_REQUEST",
        message: expect.stringMatching(/not valid JSON/),
      },
    });
    expect(calls).toBe(0);

    const good = await client.request(`${name}.echo`, bytes('{"job_id":"j2"}'), TIMEOUT);
    expect(json(good)).toEqual({ job_id: "j2" });
    expect(svc.stats().endpoints[0]).toMatchObject({ num_requests: 2, num_errors: 1 });
  });

  it("answers truncated msgpack with a 400 in msgpack", async () => {
    const svc = await start();
    await svc.addEndpoint("echo", { subject: `${name}.echo`, handler: (req) => req.body });

    const truncated = pack({ job_id: "j1" }).subarray(0, 4);
    const reply = await client.request(`${name}.echo`, truncated, {
      ...TIMEOUT,
      headers: msgpackHeaders(),
    });

    expect(reply.headers?.get("Nats-Service-Error-Code")).toBe("400");
    expect(unpack(reply.data)).toMatchObject({
      error: {
        code: "TROUPE_ERR_INVALID_REQUEST",
        message: expect.stringMatching(/not valid msgpack/),
      },
    });
  });

  it("answers an unsupported Content-Type with a 415", async () => {
    const svc = await start();
    await svc.addEndpoint("echo", { subject: `${name}.echo`, handler: (req) => req.body });
    const h = headers();
    h.set("content-type", "application/xml");

    const reply = await client.request(`${name}.echo`, bytes("<job/>"), { ...TIMEOUT, headers: h });

    expect(reply.headers?.get("Nats-Service-Error-Code")).toBe("415");
    expect(json(reply)).toMatchObject({ error: { code: "TROUPE_ERR_UNSUPPORTED_MEDIA_TYPE" } });
  });
});

describe("scaling and lifecycle", () => {
  it("shares the queue group between two instances, so each request is handled exactly once", async () => {
    const otherNc = await connect({ servers: server.url });
    try {
      const handled = new Map<string, number>();
      const instances = [await start(), await start({}, otherNc)];
      for (const svc of instances) {
        await svc.addEndpoint("work", {
          subject: `${name}.work`,
          handler: () => {
            handled.set(svc.id, (handled.get(svc.id) ?? 0) + 1);
            return { by: svc.id };
          },
        });
      }

      const requests = 20;
      await Promise.all(
        Array.from({ length: requests }, (_, i) =>
          client.request(`${name}.work`, bytes(`{"i":${i}}`), TIMEOUT),
        ),
      );

      const statsReplies: unknown[] = [];
      for await (const msg of await client.requestMany(`$SRV.STATS.${name}`, undefined, {
        strategy: "count",
        maxMessages: 2,
        maxWait: 5_000,
      })) {
        statsReplies.push(json(msg));
      }
      const ids = statsReplies.map((p) => (p as { id: string }).id).sort();
      expect(ids).toEqual(instances.map((svc) => svc.id).sort());
      const counted = statsReplies.map(
        (p) => (p as { endpoints: { num_requests: number }[] }).endpoints[0],
      );
      expect(counted.reduce((sum, e) => sum + (e?.num_requests ?? 0), 0)).toBe(requests);
      expect([...handled.values()].reduce((a, b) => a + b, 0)).toBe(requests);
    } finally {
      await Promise.all(services.map((svc) => svc.stop()));
      await otherNc.close();
    }
  });

  it("stop() is idempotent and memoized, settles closed(), and then nothing answers", async () => {
    const svc = await start();
    await svc.addEndpoint("echo", { subject: `${name}.echo`, handler: (req) => req.body });

    const first = svc.stop();
    expect(svc.stop()).toBe(first);
    expect(svc[Symbol.asyncDispose]()).toBe(first);
    await first;

    await expect(svc.closed()).resolves.toBeUndefined();
    for (const subject of [`${name}.echo`, `$SRV.PING.${name}`]) {
      const error = await client.request(subject, bytes("{}"), TIMEOUT).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RequestError);
      expect((error as RequestError).isNoResponders()).toBe(true);
    }
    expect(() => svc.addEndpoint("late", { subject: `${name}.late`, handler: () => null })).toThrow(
      TroupeError,
    );
  });

  it("stop() lets a running handler finish and reply before it resolves", async () => {
    const svc = await start();
    const entered = deferred();
    const release = deferred();
    const order: string[] = [];
    await svc.addEndpoint("slow", {
      subject: `${name}.slow`,
      handler: async () => {
        entered.resolve();
        await release.promise;
        order.push("handler done");
        return { done: true };
      },
    });

    const reply = client.request(`${name}.slow`, bytes("{}"), TIMEOUT);
    await entered.promise;
    const stopped = svc.stop().then(() => order.push("stopped"));
    // Intake is closed (the drain's unsubscribe reached the server) while the handler still runs.
    await serviceNc.flush();
    const refused = await client.request(`${name}.slow`, bytes("{}"), TIMEOUT).catch((e) => e);
    expect((refused as RequestError).isNoResponders()).toBe(true);
    release.resolve();

    expect(json(await reply)).toEqual({ done: true });
    await stopped;
    expect(order).toEqual(["handler done", "stopped"]);
  });

  it("stop() gives up on a handler still running after stopTimeoutMs, and logs it", async () => {
    const { logger, entries } = collectingLogger();
    const svc = await start({ logger, stopTimeoutMs: 0 });
    const entered = deferred();
    const release = deferred();
    await svc.addEndpoint("stuck", {
      subject: `${name}.stuck`,
      handler: async () => {
        entered.resolve();
        await release.promise;
        return null;
      },
    });
    const reply = client.request(`${name}.stuck`, bytes("{}"), TIMEOUT);
    await entered.promise;

    await svc.stop();

    expect(entries).toEqual([
      expect.objectContaining({ level: "warn", details: expect.objectContaining({ running: 1 }) }),
    ]);
    release.resolve();
    // The late reply still goes out: the connection belongs to the caller, not the service.
    expect(json(await reply)).toBeNull();
  });

  it("passes the error given to stop() to closed()", async () => {
    const svc = await start();
    const reason = new Error("shutting down for upgrade");

    await svc.stop(reason);

    await expect(svc.closed()).resolves.toBe(reason);
  });

  it("refuses to start on a closed connection", async () => {
    await serviceNc.close();

    await expect(start()).rejects.toThrow(/closed/i);
  });

  it("stops when its connection closes", async () => {
    const svc = await start();

    await serviceNc.close();

    await expect(svc.closed()).resolves.toBeUndefined();
  });
});
