import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium } from "playwright-core";

const ENSURE = fileURLToPath(new URL("../../../scripts/ensure-chromium", import.meta.url));

/** Debian's Chromium, headless, with nothing of its own running in the background. */
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Starts headless Chromium with a fresh --user-data-dir, driven by playwright-core (which
 * downloads no browser): the system's, installed by scripts/ensure-chromium when missing (as
 * root), which otherwise says the command to run. For the browser tests and bench/dashboard.ts.
 */
export async function launchChromium(): Promise<{
  context: BrowserContext;
  close: () => Promise<void>;
}> {
  try {
    execFileSync("bash", [ENSURE], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (error) {
    throw new Error(String((error as { stderr?: Buffer }).stderr ?? error));
  }
  const profile = mkdtempSync(join(tmpdir(), "troupe-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_BIN || "/usr/bin/chromium",
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 800 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
