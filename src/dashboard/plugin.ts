import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";
import { ensureDashboard } from "./build.ts";

/**
 * What the dashboard's pages may do: load their own script and style, and talk to this origin
 * only — so even injected script could not send the API token anywhere else.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * The dashboard at `/` (DESIGN §5.5): a bundle of `web/` (built when stale, see build.ts) served by
 * @fastify/static — its own files only, no wildcard route, so every other path keeps the API's 404.
 * The files hold no data and are public; the data comes from the API, which asks for the token.
 */
export async function dashboard(app: FastifyInstance): Promise<void> {
  let bundle: Awaited<ReturnType<typeof ensureDashboard>>;
  try {
    bundle = await ensureDashboard();
  } catch (error) {
    // A dashboard that cannot be built must not stop the process: the API still serves.
    bundle = { dir: undefined, reason: (error as Error).message };
  }
  if (bundle.dir === undefined) {
    app.log.warn({ reason: bundle.reason }, "dashboard unavailable");
    return;
  }
  if (bundle.built) app.log.info({ dir: bundle.dir }, "dashboard bundled");
  app.addHook("onRoute", (route) => {
    route.config = { ...route.config, public: true };
  });
  app.addHook("onSend", async (_request, reply) => {
    reply.header("content-security-policy", CONTENT_SECURITY_POLICY);
    reply.header("x-content-type-options", "nosniff");
    reply.header("referrer-policy", "no-referrer");
  });
  await app.register(fastifyStatic, {
    root: bundle.dir,
    wildcard: false,
    decorateReply: false,
    // Revalidated on every load (ETag): a rebuilt bundle shows at the next reload.
    cacheControl: true,
    maxAge: 0,
  });
}
