import { hostname } from "node:os";
import type { Command } from "commander";
import { loadNatsClientConfig } from "../config.ts";
import { ConfigError } from "../errors.ts";
import { connectClient, type TroupeClient } from "../transport/client.ts";

/** The connection flags every NATS command takes; each stands for a variable of the README. */
export interface ConnectionFlags {
  server?: string;
  user?: string;
  password?: string;
  creds?: string;
}

/** Which variable each flag sets, and which it makes moot (the flag wins over the environment). */
const FLAGS: Readonly<Record<keyof ConnectionFlags, { variable: string; clears: string[] }>> = {
  server: { variable: "NATS_URL", clears: ["TROUPE_EMBEDDED_PORT"] },
  user: { variable: "NATS_USER", clears: ["NATS_TOKEN", "NATS_CREDS"] },
  password: { variable: "NATS_PASSWORD", clears: ["NATS_TOKEN", "NATS_CREDS"] },
  creds: { variable: "NATS_CREDS", clears: ["NATS_USER", "NATS_PASSWORD", "NATS_TOKEN"] },
};

/** Adds `--server`, `--user`, `--password` and `--creds` to a command. */
export function withConnectionFlags(command: Command): Command {
  return command
    .option(
      "-s, --server <urls>",
      "NATS servers, comma-separated (default: NATS_URL, else the embedded server's address)",
    )
    .option("--user <name>", "NATS user (default: NATS_USER)")
    .option("--password <password>", "NATS password (default: NATS_PASSWORD; prefer the variable)")
    .option("--creds <file>", "NATS .creds file (default: NATS_CREDS)");
}

/**
 * Connects with the flags over the environment, resolved and checked as `troupe start` does
 * (src/config.ts). A bad value is a ConfigError naming the flag or variable (exit 2); an
 * unreachable server a NatsUnreachableError (exit 3).
 */
export async function connectFromFlags(
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<TroupeClient> {
  const merged: NodeJS.ProcessEnv = { ...env };
  const fromFlag = new Map<string, string>();
  for (const [flag, { variable, clears }] of Object.entries(FLAGS)) {
    const value = flags[flag as keyof ConnectionFlags];
    if (value === undefined) continue;
    for (const name of clears) if (!fromFlag.has(name)) delete merged[name];
    merged[variable] = value;
    fromFlag.set(variable, `--${flag}`);
  }
  let config: ReturnType<typeof loadNatsClientConfig>;
  try {
    config = loadNatsClientConfig(merged);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Say `--server "…" is invalid` when the value came from the flag, not from NATS_URL.
    const message = error.message
      .split("\n")
      .map((line) => {
        const variable = /^[A-Z_]+/.exec(line)?.[0] ?? "";
        const flag = fromFlag.get(variable);
        return flag ? `${flag}${line.slice(variable.length)}` : line;
      })
      .join("\n");
    throw new ConfigError(error.variable, message);
  }
  return connectClient({
    servers: config.natsServers,
    auth: config.natsAuth,
    tls: config.natsTls,
    prefix: config.prefix,
    name: `troupe-cli@${hostname()}:${process.pid}`,
  });
}
