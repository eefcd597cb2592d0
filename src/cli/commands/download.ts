import { createWriteStream, rmSync, type WriteStream } from "node:fs";
import { rename } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import type { Command } from "commander";
import { type ZipEntry, zipArtifacts } from "../../artifacts/artifact-zip.ts";
import type { ArtifactList } from "../../artifacts/data-gateway.ts";
import { ArtifactNotFoundError, ModelUnavailableError } from "../../errors.ts";
import { isTerminalJobState } from "../../jobs/job-state.ts";
import { type ConnectionFlags, connectFromFlags, withConnectionFlags } from "../connect.ts";
import { badInput, EXIT } from "../exit.ts";
import type { Run } from "./run.ts";

interface DownloadFlags extends ConnectionFlags {
  output?: string;
}

/**
 * `troupe download <job_id> [-o file.zip]`: a completed job's artifacts as the HTTP download's
 * zip. The gateway says which there are and whether the set is whole (`troupe.jobs.artifacts`);
 * their bytes come from the artifacts bucket, as `nats obj get` reads them.
 */
export function downloadCommand(program: Command, run: Run): void {
  withConnectionFlags(
    program
      .command("download")
      .description("save a completed job's artifacts (model.json, metrics.json, …) as a zip")
      .argument("<job_id>", "the job's id, as submit printed it")
      .option("-o, --output <file>", "the zip to write (default: <job_id>.zip; - for stdout)"),
  ).action((jobId: string, flags: DownloadFlags) =>
    run(async (out) => {
      await using client = await connectFromFlags(flags);
      const list = await client.request<ArtifactList>("jobsArtifacts", { job_id: jobId });
      if (!list.ready) {
        throw new ModelUnavailableError(
          isTerminalJobState(list.status)
            ? `job ${jobId} ended ${list.status} without artifacts: there is nothing to download`
            : `job ${jobId} is ${list.status}: its artifacts are ready once it has COMPLETED`,
        );
      }
      const entries: ZipEntry[] = [];
      for (const { name } of list.artifacts) {
        const data = await client.readArtifact(jobId, name);
        if (!data) throw new ArtifactNotFoundError(`job ${jobId}'s ${name} is gone (cleaned up?)`);
        entries.push({ name, data });
      }
      const file = flags.output ?? `${jobId}.zip`;
      if (file === "-") {
        await pipeline(zipArtifacts(entries), out.out, { end: false });
        return EXIT.ok;
      }
      // Written aside and renamed once whole: a failed download leaves no partial zip behind.
      const partial = `${file}.part`;
      const sink = await opened(createWriteStream(partial), file);
      try {
        await pipeline(zipArtifacts(entries), sink);
        await rename(partial, file);
      } catch (error) {
        rmSync(partial, { force: true });
        throw error;
      }
      out.line(`${file}: ${list.artifacts.map((a) => a.name).join(", ")}`);
      return EXIT.ok;
    }),
  );
}

/** The stream once its file is open; a file that cannot be written is bad input (exit 2). */
function opened(stream: WriteStream, file: string): Promise<WriteStream> {
  return new Promise((resolve, reject) => {
    stream.once("open", () => resolve(stream));
    stream.once("error", (error) => reject(badInput(`cannot write ${file}: ${error.message}`)));
  });
}
