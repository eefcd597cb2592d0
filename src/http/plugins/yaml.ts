import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { parse, type YAMLParseError } from "yaml";
import { InvalidRequestError } from "../../errors.ts";

/** The media types read as YAML. */
export const YAML_CONTENT_TYPES = ["application/yaml", "text/yaml", "application/x-yaml"];

/**
 * Parses a YAML document into plain data for the same schema checks as JSON. The core schema
 * (no custom tags, no timestamps: YAML 1.2 plain data) and a bound on aliases ("billion laughs").
 * @throws InvalidRequestError naming the line and column of a syntax error.
 */
export function parseYamlBody(text: string): unknown {
  try {
    return parse(text, {
      schema: "core",
      maxAliasCount: 100,
      uniqueKeys: true,
      prettyErrors: true,
      logLevel: "error",
    });
  } catch (error) {
    // Duck-typed: under some loaders `yaml` is instantiated twice and `instanceof` fails.
    const at = (error as Partial<YAMLParseError>).linePos?.[0];
    const reason = (error as Error).message.split("\n")[0] ?? "";
    const message = at
      ? `line ${at.line}, column ${at.col}: ${reason.replace(/ at line \d+, column \d+:?$/, "")}`
      : `not a YAML document: ${reason}`;
    throw new InvalidRequestError("YAML body", [{ path: "", message }]);
  }
}

async function yamlPlugin(app: FastifyInstance): Promise<void> {
  app.addContentTypeParser(
    YAML_CONTENT_TYPES,
    { parseAs: "string" },
    async (_request: FastifyRequest, body: string | Buffer) => parseYamlBody(body.toString()),
  );
}

/** Accepts `application/yaml` and `text/yaml` bodies wherever JSON is accepted. */
export const yamlBodies = fp(yamlPlugin, { name: "troupe-yaml", fastify: "5.x" });
