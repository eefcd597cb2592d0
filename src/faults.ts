/**
 * Test-only fault injection (TROUPE_FAULTS, off unless set): `kind=rate` pairs such as
 * `worker=0.01,job=0.01` crash that actor kind with the given probability per message, and
 * `worker=2x` crashes it on its first two messages in this process — for deterministic tests.
 */
export const FAULT_KINDS = ["worker", "job"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

type Rule = { probability: number } | { remaining: number };

export const FAULTS_FORM = `kind=rate pairs, comma-separated, kinds ${FAULT_KINDS.join(", ")}; rate a probability 0..1 or Nx (the first N times)`;

/** Parses TROUPE_FAULTS; undefined when malformed. */
export function parseFaults(text: string): Faults | undefined {
  const rules = new Map<FaultKind, Rule>();
  if (text.trim() === "") return new Faults(rules);
  for (const part of text.split(",")) {
    const match = /^\s*([a-z]+)\s*=\s*(?:(\d+)x|(0(?:\.\d+)?|1(?:\.0+)?))\s*$/.exec(part);
    const kind = match?.[1] as FaultKind | undefined;
    if (!match || !kind || !FAULT_KINDS.includes(kind)) return undefined;
    rules.set(kind, match[2] ? { remaining: Number(match[2]) } : { probability: Number(match[3]) });
  }
  return new Faults(rules);
}

/** An injected crash: a bug on purpose, handled by supervision like any other. */
export class InjectedFault extends Error {
  constructor(kind: FaultKind) {
    super(`injected fault in a ${kind} actor (TROUPE_FAULTS)`);
    this.name = "InjectedFault";
  }
}

export class Faults {
  readonly #rules: Map<FaultKind, Rule>;
  readonly #random: () => number;
  #injected = 0;

  constructor(rules: Map<FaultKind, Rule>, random: () => number = Math.random) {
    this.#rules = rules;
    this.#random = random;
  }

  get enabled(): boolean {
    return this.#rules.size > 0;
  }

  /** How many faults this process injected. */
  get injected(): number {
    return this.#injected;
  }

  /** Throws an InjectedFault when the rule for `kind` says so. */
  maybeCrash(kind: FaultKind): void {
    const rule = this.#rules.get(kind);
    if (!rule) return;
    if ("remaining" in rule) {
      if (rule.remaining <= 0) return;
      rule.remaining -= 1;
    } else if (this.#random() >= rule.probability) {
      return;
    }
    this.#injected += 1;
    throw new InjectedFault(kind);
  }
}

export const NO_FAULTS = new Faults(new Map());
