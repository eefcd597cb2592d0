import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, type HttpFixture, startHttpFixture } from "./support.ts";

let fx: HttpFixture;
let url: string;

beforeAll(async () => {
  fx = await startHttpFixture();
  ({ url } = await fx.serve());
});
afterAll(() => fx.close());

async function readyz(): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("/readyz", () => {
  it("answers 503 as a problem while NATS is down and 200 once it is back; /healthz stays 200", async () => {
    expect((await readyz()).status).toBe(200);

    await fx.nats.stop();
    await eventually(async () => (await readyz()).status === 503, "/readyz answers 503");
    const down = await readyz();
    expect(down.body).toMatchObject({ status: 503, code: "TROUPE_ERR_NOT_READY" });
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    await health.arrayBuffer();

    await fx.nats.restart();
    await eventually(async () => (await readyz()).status === 200, "/readyz answers 200 again");
    expect((await readyz()).body).toEqual({ status: "ready" });
  });

  it("answers 503 when the streams are missing", async () => {
    await fx.topology.jsm.streams.delete(fx.names.tasksStream);
    expect(await readyz()).toMatchObject({ status: 503 });
  });
});
