import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import { copyFile, mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../package-root.ts";

/** The dashboard's front-end sources (Preact and uPlot, TypeScript): `web/` in the checkout. */
export const DASHBOARD_SOURCES = join(PACKAGE_ROOT, "web");
/**
 * Where the bundle is served from: `dist/web/` (git-ignored, made from the sources; not
 * `dist/dashboard/`, where `tsc -p tsconfig.build.json` compiles this module).
 */
export const DASHBOARD_DIR = join(PACKAGE_ROOT, "dist", "web");
/** Written last by a build: its time says when the bundle was made. Dot file: never served. */
const STAMP = ".built";

/** What `ensureDashboard` found or did. */
export type DashboardBundle =
  | { readonly dir: string; readonly built: boolean }
  | { readonly dir: undefined; readonly reason: string };

/**
 * Makes sure `dist/web/` holds a bundle of the current sources: when it is missing or older
 * than any file of `web/` or `package-lock.json` (a new preact or uPlot), esbuild bundles it again
 * (about half a second, once after each change). Where the sources are absent (the Docker image,
 * which ships the bundle) the bundle is used as it is. Several processes may build at once: each
 * writes its own files and renames them into place, so a reader never sees half a file.
 */
export async function ensureDashboard(): Promise<DashboardBundle> {
  const stamp = join(DASHBOARD_DIR, STAMP);
  const built = existsSync(stamp) ? statSync(stamp).mtimeMs : -1;
  if (!existsSync(DASHBOARD_SOURCES)) {
    return built >= 0
      ? { dir: DASHBOARD_DIR, built: false }
      : { dir: undefined, reason: `neither ${DASHBOARD_SOURCES} nor a built ${DASHBOARD_DIR}` };
  }
  if (built >= newestSourceMs()) return { dir: DASHBOARD_DIR, built: false };
  await buildDashboard(DASHBOARD_DIR);
  return { dir: DASHBOARD_DIR, built: true };
}

/** Bundles `web/` into `outdir`: `index.html`, `app.js` and `app.css`, minified. */
export async function buildDashboard(outdir: string): Promise<void> {
  // Loaded only when a build is needed: most starts find the bundle fresh.
  const { build } = await import("esbuild");
  const scratch = join(outdir, `.build-${process.pid}-${randomBytes(4).toString("hex")}`);
  await mkdir(scratch, { recursive: true });
  try {
    await build({
      entryPoints: { app: join(DASHBOARD_SOURCES, "src", "main.tsx") },
      outdir: scratch,
      bundle: true,
      format: "esm",
      target: ["es2020"],
      minify: true,
      jsx: "automatic",
      jsxImportSource: "preact",
      legalComments: "none",
      logLevel: "silent",
    });
    await copyFile(join(DASHBOARD_SOURCES, "index.html"), join(scratch, "index.html"));
    for (const file of await readdir(scratch))
      await rename(join(scratch, file), join(outdir, file));
    await writeFile(join(outdir, STAMP), new Date().toISOString());
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function newestSourceMs(): number {
  const files = readdirSync(DASHBOARD_SOURCES, { recursive: true }).map((name) =>
    join(DASHBOARD_SOURCES, String(name)),
  );
  files.push(join(PACKAGE_ROOT, "package-lock.json"));
  return Math.max(
    ...files.filter((file) => existsSync(file)).map((file) => statSync(file).mtimeMs),
  );
}
