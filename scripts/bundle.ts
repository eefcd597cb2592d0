/**
 * Bundles the `troupe` CLI and the training pool's thread into two files, `troupe.js` and
 * `task.js`, in one directory: `npm run build` writes them to `dist/bundle/`; run with
 * `node dist/bundle/troupe.js start`. A process started from the bundle loads two files instead of
 * about two thousand modules (TypeBox alone is 700), which halves the CPU of a start-up (~0.7 s
 * against ~1.3 s compiled by tsc and ~3.5 s through tsx here) — what a replacement process costs
 * its busy peers after a crash.
 *
 * Left outside (resolved from node_modules at run time): packages that load their own files by
 * path — piscina (its thread entry), pino and pino-pretty (transport threads), @fastify/swagger-ui
 * (static files), esbuild (its binary; it bundles the dashboard when stale) — and msgpackr (its
 * optional native encoder).
 *
 * Run: `tsx scripts/bundle.ts [outdir]` (default dist/bundle); it bundles the dashboard into
 * dist/web too (src/dashboard/build.ts), so a process started from a build need not.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { buildDashboard, DASHBOARD_DIR } from "../src/dashboard/build.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

const BUNDLE_EXTERNALS = [
  "piscina",
  "pino",
  "pino-pretty",
  "@fastify/swagger-ui",
  "msgpackr",
  "esbuild",
];

/** Writes `troupe.js` (the CLI) and `task.js` (the pool's thread) to `outdir`. */
export async function bundleTroupe(outdir: string): Promise<void> {
  await build({
    entryPoints: {
      troupe: resolve(ROOT, "src/cli/troupe.ts"),
      task: resolve(ROOT, "src/training/task.ts"),
    },
    outdir,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: BUNDLE_EXTERNALS,
    // The CommonJS packages inside (fastify and its plugins) call `require`, which ESM lacks.
    banner: {
      js: "import { createRequire as troupeCreateRequire } from 'node:module'; const require = troupeCreateRequire(import.meta.url);",
    },
    logLevel: "warning",
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = resolve(process.argv[2] ?? resolve(ROOT, "dist/bundle"));
  await bundleTroupe(outdir);
  console.log(`bundled troupe.js and task.js into ${outdir}`);
  await buildDashboard(DASHBOARD_DIR);
  console.log(`bundled the dashboard into ${DASHBOARD_DIR}`);
}
