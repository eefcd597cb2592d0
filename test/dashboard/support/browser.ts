import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll } from "vitest";
import { launchChromium } from "./chromium.ts";

/** Screenshots of every view, each run (git-ignored). */
export const ARTIFACTS = fileURLToPath(new URL("../../artifacts/", import.meta.url));

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

/** Headless Chromium with a fresh profile (see chromium.ts), closed after the test file. */
export async function launchBrowser(): Promise<Browser> {
  const { context, close } = await launchChromium();
  const requests: Browser["requests"] = [];
  context.on("request", (request) =>
    requests.push({ url: request.url(), authorization: request.headers().authorization }),
  );
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

/** Saves a full-page screenshot as test/artifacts/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}
