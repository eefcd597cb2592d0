import type { JetStreamManager } from "@nats-io/jetstream";

/**
 * The keys of KV bucket `bucket` that match `pattern` (`>` for all, `job_1.*`), from one
 * stream-info request — deleted keys included (their tombstone is a message): read each with
 * `get`, which tells. `kv.keys()` instead creates a JetStream consumer on every call, kept on disk
 * for five minutes after it: called on every heartbeat or reconcile, those pile up in the server,
 * and a restarting nats-server must recover each one.
 */
export async function kvKeys(
  jsm: JetStreamManager,
  bucket: string,
  pattern = ">",
): Promise<string[]> {
  const prefix = `$KV.${bucket}.`;
  const info = await jsm.streams.info(`KV_${bucket}`, { subjects_filter: `${prefix}${pattern}` });
  return Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(prefix.length));
}
