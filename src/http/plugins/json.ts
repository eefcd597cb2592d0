import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";

/**
 * JSON bodies, parsed by fastify's own parser (with the server's prototype-poisoning settings),
 * except that an empty body is no body: `POST /api/v1/jobs/:id/cancel` with
 * `content-type: application/json` and nothing else is a cancel, not a 400. A route that needs a
 * body says so itself (submit: "must be object").
 */
async function jsonPlugin(app: FastifyInstance): Promise<void> {
  const { onProtoPoisoning, onConstructorPoisoning } = app.initialConfig;
  const parseJson = app.getDefaultJsonParser(
    onProtoPoisoning ?? "error",
    onConstructorPoisoning ?? "error",
  );
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const text = body.toString(); // a string already: parseAs "string"
    if (text === "") done(null, undefined);
    else parseJson(request, text, done);
  });
}

/** `application/json` bodies, an empty one read as none. */
export const jsonBodies = fp(jsonPlugin, { name: "troupe-json", fastify: "5.x" });
