import { describe, expect, it } from "vitest";
import { createActorSystem } from "../../src/actors/actor-system.ts";
import { Mailbox } from "../../src/actors/mailbox.ts";
import { MailboxFullError } from "../../src/errors.ts";
import { deferred, rejectionOf, settle } from "./helpers.ts";

describe("Mailbox", () => {
  it("keeps FIFO order while it grows and wraps around its ring buffer", () => {
    const mailbox = new Mailbox(1_000);
    const out: unknown[] = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < round; i++) mailbox.push(next++, undefined);
      for (let i = 0; i < round / 2 && mailbox.depth > 0; i++) {
        out.push(mailbox.peekMessage());
        mailbox.drop();
      }
    }
    mailbox.drain((message) => out.push(message));
    expect(out).toEqual(Array.from({ length: next }, (_, i) => i));
    expect(mailbox.depth).toBe(0);
  });
});

describe("an actor's mailbox", () => {
  it("handles messages strictly in order and one at a time, async handlers included", async () => {
    const system = createActorSystem();
    const log: string[] = [];
    let active = 0;
    let maxActive = 0;
    const ref = system.spawn<number, number>(() => ({
      async receive(n) {
        active++;
        maxActive = Math.max(maxActive, active);
        log.push(`start ${n}`);
        // Uneven async work: later messages would finish first if handlers overlapped.
        for (let i = 0; i < (20 - n) % 7; i++) await settle();
        log.push(`end ${n}`);
        active--;
        return n;
      },
    }));
    const replies = await Promise.all(Array.from({ length: 20 }, (_, n) => ref.ask(n)));
    expect(replies).toEqual(Array.from({ length: 20 }, (_, n) => n));
    expect(log).toEqual(Array.from({ length: 20 }, (_, n) => [`start ${n}`, `end ${n}`]).flat());
    expect(maxActive).toBe(1);
    await system.shutdown();
  });

  it("mixes sync and async handlers without reordering", async () => {
    const system = createActorSystem();
    const seen: number[] = [];
    const ref = system.spawn<number, void>(() => ({
      receive(n) {
        if (n % 3 === 0) {
          return settle().then(() => {
            seen.push(n);
          });
        }
        seen.push(n);
      },
    }));
    for (let n = 0; n < 100; n++) ref.tell(n);
    await ref.ask(100);
    expect(seen).toEqual(Array.from({ length: 101 }, (_, n) => n));
    await system.shutdown();
  });

  it("with overflow reject, refuses the message past the bound with MailboxFullError", async () => {
    const system = createActorSystem();
    const gate = deferred();
    const handled: number[] = [];
    const ref = system.spawn<number, void>(
      () => ({
        async receive(n) {
          await gate.promise;
          handled.push(n);
        },
      }),
      { mailboxSize: 3, overflow: "reject" },
    );
    ref.tell(0); // taken by the handler, which then waits at the gate
    await settle();
    for (let n = 1; n <= 3; n++) ref.tell(n);
    expect(ref.mailboxDepth).toBe(3);
    expect(() => ref.tell(4)).toThrow(MailboxFullError);
    const error = await rejectionOf(ref.ask(5));
    expect(error).toBeInstanceOf(MailboxFullError);
    expect((error as MailboxFullError).code).toBe("TROUPE_ERR_MAILBOX_FULL");
    gate.resolve();
    await settle();
    await ref.ask(6);
    expect(handled).toEqual([0, 1, 2, 3, 6]);
    await system.shutdown();
  });

  it("with overflow drop-oldest, keeps the newest messages and rejects a dropped ask", async () => {
    const system = createActorSystem();
    const gate = deferred();
    const handled: unknown[] = [];
    const dead: unknown[] = [];
    system.inspect({ deadLetter: (_path, message) => dead.push(message) });
    const ref = system.spawn<unknown, void>(
      () => ({
        async receive(message) {
          await gate.promise;
          handled.push(message);
        },
      }),
      { mailboxSize: 2, overflow: "drop-oldest" },
    );
    ref.tell("in-flight");
    await settle();
    const droppedAsk = ref.ask("first");
    ref.tell("second");
    ref.tell("third"); // pushes out "first"
    ref.tell("fourth"); // pushes out "second"
    expect(ref.mailboxDepth).toBe(2);
    expect(await rejectionOf(droppedAsk)).toBeInstanceOf(MailboxFullError);
    gate.resolve();
    await settle();
    await ref.ask("last");
    expect(handled).toEqual(["in-flight", "third", "fourth", "last"]);
    expect(dead).toEqual(["first", "second"]);
    await system.shutdown();
  });

  it("makes its depth observable on the ref, in stats and at the delivery choke point", async () => {
    const system = createActorSystem();
    const gate = deferred();
    const deliveries: { path: string; message: unknown; depth: number }[] = [];
    system.inspect({
      delivered: (actor, message, depth) => deliveries.push({ path: actor.path, message, depth }),
    });
    const ref = system.spawn<string, void>(() => ({ receive: () => gate.promise }), {
      name: "depth-probe",
    });
    ref.tell("a");
    await settle();
    ref.tell("b");
    ref.tell("c");
    expect(ref.mailboxDepth).toBe(2);
    expect(system.stats().mailboxes).toEqual([{ actor: "depth-probe", depth: 2 }]);
    expect(deliveries).toEqual([
      { path: "depth-probe", message: "a", depth: 0 },
      { path: "depth-probe", message: "b", depth: 0 },
      { path: "depth-probe", message: "c", depth: 1 },
    ]);
    gate.resolve();
    await ref.ask("d");
    expect(ref.mailboxDepth).toBe(0);
    await system.shutdown();
  });
});
