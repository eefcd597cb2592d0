import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { parseJobSpec } from "../../src/jobs/job-spec.ts";
import { type HttpFixture, spec, startHttpFixture } from "./support.ts";

let fx: HttpFixture;
let url: string;

beforeAll(async () => {
  fx = await startHttpFixture();
  ({ url } = await fx.serve()); // the fixture's rate limit is far above 2,000 a minute
});
afterAll(() => fx.close());

interface Attempt {
  contentType: string | undefined;
  body: string;
}

const CONTENT_TYPES = ["application/json", "application/yaml", "text/yaml"] as const;

function isValidSpec(value: unknown): boolean {
  try {
    parseJobSpec(value, { maxAttempts: 1 });
    return true;
  } catch {
    return false;
  }
}

/** A valid spec with one field replaced, removed or added, that the oracle finds invalid. */
const brokenSpec = fc
  .record({
    key: fc.constantFrom(
      ...Object.keys(spec()),
      "model_type",
      "resources",
      "retry_policy",
      "timeout_s",
      "extra",
    ),
    value: fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined }),
    nested: fc.constantFrom("dataset", "hyperparameters", "retry_policy", "resources"),
    nestedKey: fc.constantFrom(
      "samples",
      "seed",
      "learning_rate",
      "max_attempts",
      "cpu_cores",
      "bogus",
    ),
    nestedValue: fc.jsonValue({ maxDepth: 2 }),
    deep: fc.boolean(),
  })
  .map(({ key, value, nested, nestedKey, nestedValue, deep }) => {
    const body: Record<string, unknown> = spec();
    if (deep) body[nested] = { ...(body[nested] as object), [nestedKey]: nestedValue };
    else if (value === undefined) delete body[key];
    else body[key] = value;
    return body;
  })
  .filter((body) => !isValidSpec(body));

const encoded = (values: fc.Arbitrary<unknown>) =>
  fc.tuple(values, fc.constantFrom(...CONTENT_TYPES)).map(
    ([value, contentType]): Attempt => ({
      contentType,
      body: contentType === "application/json" ? (JSON.stringify(value) ?? "") : stringify(value),
    }),
  );

const attempts: fc.Arbitrary<Attempt> = fc.oneof(
  encoded(brokenSpec),
  encoded(fc.jsonValue({ maxDepth: 4 }).filter((value) => !isValidSpec(value))),
  // Malformed text, truncated documents and bodies under the wrong media type.
  fc.record({
    contentType: fc.constantFrom(
      ...CONTENT_TYPES,
      "text/plain",
      "application/xml",
      "application/x-www-form-urlencoded",
      undefined,
    ),
    body: fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ unit: "binary", maxLength: 200 }),
      fc.nat({ max: 150 }).map((n) => JSON.stringify(spec()).slice(0, n)),
      fc.constantFrom(
        "{",
        "[",
        "null",
        '{"__proto__":{"a":1}}',
        "a: &a [*a]",
        "- a\n- b\n---\n- c",
        "\u0000",
      ),
    ),
  }),
);

describe("POST /api/v1/jobs under random and malformed bodies", () => {
  it("answers every one of 2,000 with a 4xx problem, never a 5xx, and keeps serving", async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(attempts, async ({ contentType, body }) => {
        const headers: Record<string, string> = contentType ? { "content-type": contentType } : {};
        const res = await fetch(`${url}/api/v1/jobs`, { method: "POST", headers, body });
        const text = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect(res.status, text).toBeGreaterThanOrEqual(400);
        expect(res.status, text).toBeLessThan(500);
        expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
        const problem = JSON.parse(text) as Record<string, unknown>;
        expect(problem).toMatchObject({
          status: res.status,
          code: expect.stringMatching(/^TROUPE_ERR_/),
        });
        expect(Array.isArray(problem.errors)).toBe(true);
      }),
      { numRuns: 2000 },
    );
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(2000);

    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const ok = await fetch(`${url}/api/v1/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(spec()),
    });
    expect(ok.status).toBe(202);
  }, 180_000);
});
