import { Readable } from "node:stream";
import yazl from "yazl";

/** One file of a job's artifacts, read as it is zipped. */
export interface ZipEntry {
  name: string;
  data: AsyncIterable<Uint8Array>;
}

/**
 * A zip of a job's artifacts, each entry streamed as it is read: the one download format, for
 * the HTTP door and the CLI alike.
 */
export function zipArtifacts(entries: readonly ZipEntry[]): Readable {
  const zip = new yazl.ZipFile();
  for (const { name, data } of entries) zip.addReadStream(Readable.from(data), name);
  zip.end();
  return zip.outputStream as Readable;
}
