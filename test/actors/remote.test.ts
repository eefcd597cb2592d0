import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ActorSystem, createActorSystem } from "../../src/actors/actor-system.ts";
import { decodeReply, encodeFailure, errorFromData } from "../../src/actors/remote.ts";
import {
  ActorCrashedError,
  ActorStoppedError,
  AskTimeoutError,
  MailboxFullError,
  NoResponderError,
  TroupeError,
} from "../../src/errors.ts";
import { createSupervisor } from "../../src/supervisor/supervisor.ts";
import { createNatsRemotePort, type NatsRemotePort } from "../../src/transport/remote-actors.ts";
import { startNats } from "../support/nats.ts";
import { deferred, rejectionOf } from "./helpers.ts";

let hostConnection: NatsConnection;
let askerConnection: NatsConnection;
let hostPort: NatsRemotePort;
let host: ActorSystem;
let asker: ActorSystem;

beforeAll(async () => {
  const server = await startNats({ jetstream: false });
  hostConnection = await connect({ servers: server.url });
  askerConnection = await connect({ servers: server.url });
  hostPort = createNatsRemotePort(hostConnection);
  host = createActorSystem({ remote: hostPort });
  asker = createActorSystem({ remote: createNatsRemotePort(askerConnection) });
});

afterAll(async () => {
  await asker?.shutdown();
  await host?.shutdown();
  await askerConnection?.close();
  await hostConnection?.close();
});

describe("actors across processes over NATS", () => {
  it("answers an ask by cluster-wide name with the same reply as locally", async () => {
    host.spawn<{ a: number; b: number }, { sum: number }>(
      () => ({ receive: ({ a, b }) => ({ sum: a + b }) }),
      { name: "adder", cluster: true },
    );
    await hostPort.flush();
    expect(await asker.actorFor("adder").ask({ a: 2, b: 3 })).toEqual({ sum: 5 });
  });

  it("delivers a tell by name, in order", async () => {
    const got: number[] = [];
    const all = deferred();
    host.spawn<number, void>(
      () => ({
        receive(n) {
          got.push(n);
          if (got.length === 5) all.resolve();
        },
      }),
      { name: "sink", cluster: true },
    );
    await hostPort.flush();
    const sink = asker.actorFor<number, void>("sink");
    for (let n = 0; n < 5; n++) sink.tell(n);
    await all.promise;
    expect(got).toEqual([0, 1, 2, 3, 4]);
  });

  it("rejects with ActorCrashedError when the remote actor crashes on the message", async () => {
    const supervisor = createSupervisor(host, { minBackoffMs: 0 });
    await supervisor.startChild<string, string>({
      id: "fragile",
      name: "fragile",
      cluster: true,
      behavior: () => ({
        receive(message) {
          if (message === "crash") throw new Error("fragile broke");
          return `ok ${message}`;
        },
      }),
    });
    await hostPort.flush();
    const fragile = asker.actorFor<string, string>("fragile");
    const error = await rejectionOf(fragile.ask("crash"));
    expect(error).toBeInstanceOf(ActorCrashedError);
    expect((error as Error).message).toContain("fragile broke");
    // Restarted by its supervisor, still served under the same name.
    expect(await fragile.ask("again")).toBe("ok again");
    await supervisor.close();
  });

  it("rejects with AskTimeoutError after timeoutMs when the remote actor does not answer", async () => {
    const gate = deferred();
    host.spawn<string, string>(() => ({ receive: () => gate.promise.then(() => "late") }), {
      name: "sleepy",
      cluster: true,
    });
    await hostPort.flush();
    const error = await rejectionOf(asker.actorFor("sleepy").ask("hello", { timeoutMs: 100 }));
    expect(error).toBeInstanceOf(AskTimeoutError);
    gate.resolve();
  });

  it("rejects with MailboxFullError when the remote mailbox overflows", async () => {
    const gate = deferred();
    const entered = deferred();
    host.spawn<string, string>(
      () => ({
        receive() {
          entered.resolve();
          return gate.promise.then(() => "x");
        },
      }),
      { name: "narrow", cluster: true, mailboxSize: 1 },
    );
    await hostPort.flush();
    const queuedArrived = deferred();
    const stopInspecting = host.inspect({
      delivered: (_actor, message) => message === "queued" && queuedArrived.resolve(),
    });
    const narrow = asker.actorFor<string, string>("narrow");
    const first = narrow.ask("in-flight");
    await entered.promise;
    const second = narrow.ask("queued");
    await queuedArrived.promise;
    stopInspecting();
    expect(await rejectionOf(narrow.ask("overflow"))).toBeInstanceOf(MailboxFullError);
    gate.resolve();
    expect(await Promise.all([first, second])).toEqual(["x", "x"]);
  });

  it("fails fast with NoResponderError for an unknown name and once the actor stops", async () => {
    expect(
      await rejectionOf(asker.actorFor("never-registered").ask("hi", { timeoutMs: 60_000 })),
    ).toBeInstanceOf(NoResponderError);
    const ref = host.spawn<string, string>(() => ({ receive: (m) => m }), {
      name: "short-lived",
      cluster: true,
    });
    await hostPort.flush();
    const byName = asker.actorFor<string, string>("short-lived");
    expect(await byName.ask("hi")).toBe("hi");
    await host.stop(ref);
    await hostPort.flush();
    expect(await rejectionOf(byName.ask("hi", { timeoutMs: 60_000 }))).toBeInstanceOf(
      NoResponderError,
    );
  });
});

describe("errors crossing processes", () => {
  it("travel as {code, message} and come back as their typed class", () => {
    for (const error of [
      new MailboxFullError("full"),
      new AskTimeoutError("slow"),
      new ActorStoppedError("gone"),
      new ActorCrashedError("broke"),
      new NoResponderError("nobody"),
    ]) {
      const back = rejectionOfSync(() => decodeReply(encodeFailure(error)));
      expect(back).toBeInstanceOf(error.constructor);
      expect(back).toMatchObject({ code: error.code, message: error.message });
    }
    const plain = rejectionOfSync(() => decodeReply(encodeFailure(new Error("plain"))));
    expect(plain).toMatchObject({ code: "TROUPE_ERR_INTERNAL", message: "plain" });
    expect(errorFromData({ code: "TROUPE_ERR_SOMETHING_NEW", message: "m" })).toBeInstanceOf(
      TroupeError,
    );
  });
});

function rejectionOfSync(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}
