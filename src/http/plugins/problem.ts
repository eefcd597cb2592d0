import { STATUS_CODES } from "node:http";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import {
  type FieldProblem,
  InvalidRequestError,
  RouteNotFoundError,
  TroupeError,
} from "../../errors.ts";

/** The body of every error answer (RFC 9457), `application/problem+json`. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors: FieldProblem[];
}

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

// Fastify's own 4xx errors, under Troupe's codes where one fits (the wire speaks one vocabulary).
const FASTIFY_CODES: Readonly<Record<string, string>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: "TROUPE_ERR_PAYLOAD_TOO_LARGE",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "TROUPE_ERR_UNSUPPORTED_MEDIA_TYPE",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "TROUPE_ERR_INVALID_REQUEST",
  FST_ERR_CTP_INVALID_JSON_BODY: "TROUPE_ERR_INVALID_REQUEST",
  FST_ERR_VALIDATION: "TROUPE_ERR_INVALID_REQUEST",
};

/**
 * Turns any error into a problem. Troupe errors carry their status and code; fastify's 4xx errors
 * (body too large, malformed JSON, unknown media type) keep their status; anything else is a 500
 * whose detail hides the internals (they go to the log).
 */
export function toProblem(error: unknown): Problem {
  if (error instanceof TroupeError) {
    const problems = error instanceof InvalidRequestError ? [...error.problems] : [];
    return problem(error.statusCode, error.code, error.message, problems);
  }
  const e = error as Partial<FastifyError> & { status?: number };
  const status = e.statusCode ?? e.status;
  if (typeof status === "number" && status >= 400 && status < 500) {
    const code = FASTIFY_CODES[e.code ?? ""] ?? e.code ?? "TROUPE_ERR_INVALID_REQUEST";
    const detail = e.message ?? STATUS_CODES[status] ?? "bad request";
    // Body-level faults (not JSON, too large, wrong media type) concern the body as a whole.
    return problem(status, code, detail, [{ path: "", message: detail }]);
  }
  return problem(500, "TROUPE_ERR_INTERNAL", "internal error; see the server log", []);
}

function problem(status: number, code: string, detail: string, errors: FieldProblem[]): Problem {
  return {
    type: `urn:troupe:error:${code}`,
    title: STATUS_CODES[status] ?? "Error",
    status,
    detail,
    code,
    errors,
  };
}

/** Sends `error` as a problem; the one place any error becomes a response. */
export function sendProblem(reply: FastifyReply, error: unknown): FastifyReply {
  const body = toProblem(error);
  if (body.status === 401) reply.header("www-authenticate", 'Bearer realm="troupe"');
  return reply.code(body.status).type(PROBLEM_CONTENT_TYPE).send(body);
}

async function problemPlugin(app: FastifyInstance): Promise<void> {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const body = toProblem(error);
    if (body.status >= 500) request.log.error({ err: error, url: request.url }, "request failed");
    return sendProblem(reply, error);
  });
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) =>
    sendProblem(reply, routeNotFound(request)),
  );
  // Fastify parses the body of a request for no route before its 404 handler runs: without this,
  // an empty or malformed JSON body sent to a route that does not exist answers 400, not 404.
  // After onRequest, so rate limit and auth still come first.
  app.addHook("preParsing", async (request: FastifyRequest) => {
    if (request.is404) throw routeNotFound(request);
  });
}

function routeNotFound(request: FastifyRequest): RouteNotFoundError {
  return new RouteNotFoundError(request.method, request.url.split("?")[0] ?? request.url);
}

/** Error handler and 404 handler for the whole server (not encapsulated). */
export const problemHandling = fp(problemPlugin, { name: "troupe-problem", fastify: "5.x" });
