import { parseArgs } from "node:util";
import { packageVersion } from "../package-root.ts";
import { startCommand } from "./start.ts";

const USAGE = `Usage: troupe <command> [options]

Commands:
  start          run a Troupe process (workers, job actors, NATS API)

Options:
  -h, --help     show this help
  -v, --version  print the version

Configuration comes from environment variables; see the README.`;

/** Parses the command line and runs the command; returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    process.stderr.write(`troupe: ${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === "help") {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined && !values.help ? 2 : 0;
  }
  if (rest.length > 0) {
    process.stderr.write(`troupe: unexpected argument '${rest[0]}' after '${command}'\n`);
    return 2;
  }
  if (command === "start") return startCommand();
  process.stderr.write(`troupe: unknown command '${command}'\n\n${USAGE}\n`);
  return 2;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
    },
  });
}
