import { Command, CommanderError } from "commander";
import { packageVersion } from "../package-root.ts";
import { clusterCommands } from "./commands/cluster.ts";
import { downloadCommand } from "./commands/download.ts";
import { eventsCommand } from "./commands/events.ts";
import { jobsCommand } from "./commands/jobs.ts";
import { createRun } from "./commands/run.ts";
import { submitCommand } from "./commands/submit.ts";
import { workflowsCommand } from "./commands/workflows.ts";
import { EXIT } from "./exit.ts";

const AFTER_HELP = `
Every command but start is a client of the public NATS subjects: it connects to NATS_URL (default:
the embedded server's address) with NATS_USER/NATS_PASSWORD, NATS_TOKEN or NATS_CREDS, as the
README says; --server, --user, --password and --creds override them.
Exit codes: 0 done (a watched job COMPLETED), 1 failed (a watched job FAILED, TIMEOUT or
CANCELLED; or the request was refused), 2 bad flag, argument, file or variable, 3 NATS unreachable
or no troupe process answers, 130 stopped by Ctrl-C.`;

/** The `troupe` command line: parses `argv`, runs the command; resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const { run, exitCode } = createRun();
  const program = new Command("troupe")
    .description("Troupe: ML training jobs on an actor cluster over NATS JetStream")
    .version(packageVersion(), "-v, --version", "print the version")
    .helpOption("-h, --help", "show help")
    .addHelpText("after", AFTER_HELP)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => process.stdout.write(text),
      writeErr: (text) => process.stderr.write(text),
      // One line, `troupe: …` like every other error (commander adds a "Did you mean" line).
      outputError: (text, write) =>
        write(
          `troupe: ${text
            .replace(/^error: /, "")
            .trim()
            .replace(/\s*\n\s*/g, " ")}\n`,
        ),
    });
  let startCode: number | undefined;
  program
    .command("start")
    .description("run a Troupe process (workers, job actors, NATS API, HTTP and dashboard)")
    .addHelpText("after", "\nConfiguration comes from environment variables; see the README.")
    .action(async () => {
      // Loaded only here: the whole runtime would triple every other command's start-up.
      const { startCommand } = await import("./start.ts");
      startCode = await startCommand();
    });
  submitCommand(program, run);
  jobsCommand(program, run);
  workflowsCommand(program, run);
  clusterCommands(program, run);
  eventsCommand(program, run);
  downloadCommand(program, run);
  // Every subcommand reports its errors the same way and never exits on its own.
  for (const command of allCommands(program)) {
    command.exitOverride().configureOutput(program.configureOutput());
  }

  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    // Help and --version end with 0; a usage error (or no command at all) with 2.
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  return startCode ?? exitCode() ?? EXIT.ok;
}

function allCommands(command: Command): Command[] {
  return command.commands.flatMap((child) => [child, ...allCommands(child)]);
}
