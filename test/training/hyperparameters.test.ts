import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { HyperparameterSchemas } from "../../src/training/hyperparameters.ts";

const README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

interface Node {
  type?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: Node[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  default?: unknown;
}

function typeOf(node: Node): string {
  if (node.anyOf) return node.anyOf.map(typeOf).join(" or ");
  return node.enum || node.const !== undefined ? "string" : String(node.type);
}

/** As the README writes a range: an interval, or the choices. */
function rangeOf(node: Node): string {
  if (node.anyOf) return node.anyOf.map(rangeOf).join(" or ");
  if (node.enum) return node.enum.map((v) => `\`${v}\``).join(", ");
  if (node.const !== undefined) return `\`${node.const}\``;
  const low =
    node.exclusiveMinimum === undefined ? `[${node.minimum}` : `(${node.exclusiveMinimum}`;
  const high =
    node.exclusiveMaximum === undefined ? `${node.maximum}]` : `${node.exclusiveMaximum})`;
  return `${low}, ${high}`;
}

/** The rows (name, type, range, default) of the table after the paragraph naming `model`. */
function readmeRows(model: string): string[][] {
  const lines = README.split("\n");
  const start = lines.findIndex((line) => line.startsWith(`\`${model}\` (`));
  expect(start, `a paragraph starting with \`${model}\``).toBeGreaterThan(0);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 4)) {
    if (!line.startsWith("|")) break;
    rows.push(
      line
        .split(" | ")
        .map((cell) => cell.replace(/^\| |\s*\|$/g, "").trim())
        .slice(0, 4),
    );
  }
  return rows;
}

describe("the hyperparameters of each model", () => {
  it.each(Object.keys(HyperparameterSchemas))(
    "are all in the README for %s, with the schema's type, range and default",
    (model) => {
      const schema = HyperparameterSchemas[model as keyof typeof HyperparameterSchemas];
      const expected = Object.entries(schema.properties as Record<string, Node>).map(
        ([name, node]) => [
          `\`${name}\``,
          typeOf(node),
          rangeOf(node),
          typeof node.default === "string" ? `\`${node.default}\`` : String(node.default),
        ],
      );
      expect(readmeRows(model)).toEqual(expected);
    },
  );
});
