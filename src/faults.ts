/**
 * Test-only fault injection (TROUPE_FAULTS, off unless set), comma-separated `kind=value` pairs:
 * - `worker=0.01`, `job=0.01`: crash that actor kind with the given probability per message;
 *   `worker=2x` crashes it on its first two messages in this process — for deterministic tests;
 * - `pool=0.01` (or `pool=2x`): the pool thread running a task dies (the thread exits) — the
 *   chunk runner decides, the thread only obeys a flag;
 * - `artifacts=1x`: the process is killed (SIGKILL) while writing a job's artifacts, after the
 *   first one — a new owner must complete the set;
 * - `ack-delay=200ms` (or `ack-delay=200`): every task ack is sent this many milliseconds late.
 */
export const FAULT_KINDS = ["worker", "job", "pool", "artifacts", "ack-delay"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
/** The kinds that crash an actor (thrown from its message handler). */
export type ActorFaultKind = "worker" | "job";
/** The kinds decided by a roll (a rate or the first N times). */
type RolledKind = Exclude<FaultKind, "ack-delay">;

type Rule = { probability: number } | { remaining: number };

/** The longest ack delay accepted: past the lease, acks would only ever arrive late. */
const MAX_ACK_DELAY_MS = 600_000;

export const FAULTS_FORM = `kind=value pairs, comma-separated: ${FAULT_KINDS.slice(0, -1).join(", ")} take a probability 0..1 or Nx (the first N times); ack-delay takes milliseconds (200 or 200ms)`;

/** Parses TROUPE_FAULTS; undefined when malformed. */
export function parseFaults(text: string): Faults | undefined {
  const rules = new Map<RolledKind, Rule>();
  let ackDelayMs = 0;
  if (text.trim() === "") return new Faults(rules);
  for (const part of text.split(",")) {
    const pair = /^\s*([a-z-]+)\s*=\s*(\S+)\s*$/.exec(part);
    const kind = pair?.[1] as FaultKind | undefined;
    const value = pair?.[2] ?? "";
    if (!kind || !FAULT_KINDS.includes(kind)) return undefined;
    if (kind === "ack-delay") {
      const ms = /^(\d+)(?:ms)?$/.exec(value);
      if (!ms || Number(ms[1]) > MAX_ACK_DELAY_MS) return undefined;
      ackDelayMs = Number(ms[1]);
      continue;
    }
    const rate = /^(?:(\d+)x|(0(?:\.\d+)?|1(?:\.0+)?))$/.exec(value);
    if (!rate) return undefined;
    rules.set(kind, rate[1] ? { remaining: Number(rate[1]) } : { probability: Number(rate[2]) });
  }
  return new Faults(rules, Math.random, ackDelayMs);
}

/** An injected crash: a bug on purpose, handled by supervision like any other. */
export class InjectedFault extends Error {
  constructor(kind: ActorFaultKind) {
    super(`injected fault in a ${kind} actor (TROUPE_FAULTS)`);
    this.name = "InjectedFault";
  }
}

export class Faults {
  readonly #rules: Map<RolledKind, Rule>;
  readonly #random: () => number;
  /** Every task ack goes out this much later (0: at once). */
  readonly ackDelayMs: number;
  #injected = 0;

  constructor(rules: Map<RolledKind, Rule>, random: () => number = Math.random, ackDelayMs = 0) {
    this.#rules = rules;
    this.#random = random;
    this.ackDelayMs = ackDelayMs;
  }

  get enabled(): boolean {
    return this.#rules.size > 0 || this.ackDelayMs > 0;
  }

  /** How many faults this process injected (delayed acks are not counted). */
  get injected(): number {
    return this.#injected;
  }

  /** Throws an InjectedFault when the rule for `kind` says so. */
  maybeCrash(kind: ActorFaultKind): void {
    if (this.#roll(kind)) throw new InjectedFault(kind);
  }

  /** True when the pool thread about to run a task should die (the `pool` rule says so). */
  crashPoolThread(): boolean {
    return this.#roll("pool");
  }

  /** True when this process should die now, half-way through writing a job's artifacts. */
  killWritingArtifacts(): boolean {
    return this.#roll("artifacts");
  }

  #roll(kind: RolledKind): boolean {
    const rule = this.#rules.get(kind);
    if (!rule) return false;
    if ("remaining" in rule) {
      if (rule.remaining <= 0) return false;
      rule.remaining -= 1;
    } else if (this.#random() >= rule.probability) {
      return false;
    }
    this.#injected += 1;
    return true;
  }
}

export const NO_FAULTS = new Faults(new Map());
