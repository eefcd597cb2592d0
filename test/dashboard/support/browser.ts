import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll } from "vitest";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** Screenshots of every view, each run (git-ignored). */
export const ARTIFACTS = join(ROOT, "test", "artifacts");

/** Debian's Chromium (scripts/ensure-chromium installs it), headless, with nothing of its own. */
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A browser with a fresh profile, and every request it made. */
export interface Browser {
  readonly context: BrowserContext;
  /** Every request's URL and Authorization header, in order (the browser's request log). */
  readonly requests: { url: string; authorization: string | undefined }[];
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
}

const open = new Set<() => Promise<void>>();
afterAll(async () => {
  for (const close of open) await close();
});

/**
 * Starts headless Chromium (installed by scripts/ensure-chromium when missing, as root; else that
 * script says the command to run) with a fresh --user-data-dir, driven by playwright-core.
 */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = chromiumPath();
  const profile = mkdtempSync(join(tmpdir(), "troupe-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 800 },
  });
  const requests: Browser["requests"] = [];
  context.on("request", (request) =>
    requests.push({ url: request.url(), authorization: request.headers().authorization }),
  );
  const close = async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  };
  open.add(close);
  return {
    context,
    requests,
    async newPage(viewport) {
      const page = await context.newPage();
      if (viewport) await page.setViewportSize(viewport);
      page.on("pageerror", (error) => console.error(`page error: ${error.message}`));
      return page;
    },
  };
}

function chromiumPath(): string {
  try {
    execFileSync("bash", [join(ROOT, "scripts", "ensure-chromium")], {
      stdio: ["ignore", "ignore", "pipe"],
    });
  } catch (error) {
    throw new Error(String((error as { stderr?: Buffer }).stderr ?? error));
  }
  return process.env.CHROMIUM_BIN || "/usr/bin/chromium";
}

/** Saves a full-page screenshot as test/artifacts/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}
