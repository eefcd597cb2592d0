import { beforeAll, describe, expect, it } from "vitest";
import { longSpec, quickSpec } from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";
import { startTroupes } from "../support/troupe-process.ts";
import { type Browser, launchBrowser, screenshot } from "./support/browser.ts";

const TOKEN = "s3cret-dashboard-token-0123456789";

let http: string;
let workerId: string;
/** A second Troupe on the same NATS, under its own prefix, with TROUPE_API_TOKEN set. */
let secureHttp: string;
let browser: Browser;

beforeAll(async () => {
  const nats = await startNats();
  const [[troupe], [secure], launched] = await Promise.all([
    // Two slots: a two-task job fills them, so the next job waits in the queue.
    startTroupes(1, nats.url, { MAX_CONCURRENT_TASKS: "2" }),
    startTroupes(1, nats.url, { TROUPE_PREFIX: "secure", TROUPE_API_TOKEN: TOKEN }),
    launchBrowser(),
  ]);
  const started = await troupe?.waitForLog("troupe started");
  http = String(started?.http);
  workerId = String(started?.workerId);
  secureHttp = String((await secure?.waitForLog("troupe started"))?.http);
  browser = launched;
}, 120_000); // two processes (each may bundle the page) and a browser: slow on a busy machine

async function submit(spec: Record<string, unknown>, base = http, token?: string): Promise<string> {
  const response = await fetch(`${base}/api/v1/jobs`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(spec),
  });
  const reply = (await response.json()) as { job_id: string };
  expect(response.status).toBe(202);
  return reply.job_id;
}

/**
 * Epochs of about a second here: progress is sent at most every 250 ms per task, so epochs this
 * slow are each reported on their own and each makes a point on the chart.
 */
const SLOW_EPOCHS = {
  name: "dash-mlp",
  model_type: "neural_network",
  dataset: { samples: 100_000, features: 64, noise: 3, seed: 3 },
  epochs: 4,
  tasks: 2,
};

describe("the dashboard in a real browser", () => {
  it("shows jobs, the queue, the workers and a job's curves as they change, without a reload", async () => {
    const jobs = await browser.newPage();
    await jobs.goto(`${http}/`);
    await jobs.getByRole("heading", { name: "Jobs" }).waitFor();
    // Gone if the page ever reloads.
    await jobs.evaluate(() => Object.assign(globalThis, { loadedOnce: true }));

    // A job that fills both slots, then the job to watch, which waits behind it.
    const blocker = await submit(longSpec({ name: "blocker", tasks: 2 }));
    const worker = await browser.newPage();
    await worker.goto(`${http}/#/workers`);
    const card = worker.getByRole("listitem", { name: `worker ${workerId}` });
    await card.getByText("BUSY").waitFor();
    await card.getByText("2/2").waitFor();
    const jobId = await submit(SLOW_EPOCHS);

    // The list's row of that job (its link), and its state word exactly.
    const row = (name: string) =>
      jobs.getByRole("row").filter({ has: jobs.getByRole("link", { name, exact: true }) });
    await row("dash-mlp").getByText("QUEUED", { exact: true }).waitFor();
    await row("blocker").getByText("RUNNING", { exact: true }).waitFor();
    await screenshot(jobs, "jobs");
    await card.getByText(`${blocker}`).first().waitFor();
    await screenshot(worker, "workers");

    await worker.goto(`${http}/#/queue`);
    await worker.getByRole("row", { name: /^normal [1-9]/ }).waitFor();
    await screenshot(worker, "queue");

    // The job's page is open (its event stream says QUEUED) before the job starts training.
    const job = await browser.newPage();
    await job.goto(`${http}/#/jobs/${jobId}`);
    await job
      .getByRole("heading", { name: /dash-mlp/ })
      .getByText("QUEUED")
      .waitFor();
    const cancelled = await fetch(`${http}/api/v1/jobs/${blocker}/cancel`, { method: "POST" });
    expect(cancelled.status).toBe(200);

    await job
      .getByRole("heading", { name: /dash-mlp/ })
      .getByText("COMPLETED")
      .waitFor({ timeout: 60_000 });
    // One point per trained epoch, per task, on both charts.
    for (const title of ["Loss by epoch", "Accuracy by epoch"]) {
      await job.getByRole("img", { name: `${title}: task 0 4 points, task 1 4 points` }).waitFor();
    }
    const tasks = job.getByRole("table").last();
    for (const index of [0, 1]) {
      const cells = await tasks
        .getByRole("row")
        .nth(index + 1)
        .getByRole("cell")
        .allInnerTexts();
      expect(cells.slice(0, 3)).toEqual([String(index), "COMPLETED", "4/4"]);
      expect(cells[3]).toMatch(/^\d\.\d{4}$/);
    }
    await job
      .getByRole("list", { name: "job events" })
      .getByText("job COMPLETED, 2/2 tasks")
      .waitFor();
    await screenshot(job, "job");

    // The list caught up by itself: same page, never reloaded.
    await row("dash-mlp").getByText("COMPLETED", { exact: true }).waitFor();
    await row("blocker").getByText("CANCELLED", { exact: true }).waitFor();
    expect(await jobs.evaluate(() => "loadedOnce" in globalThis)).toBe(true);
    await screenshot(jobs, "jobs-later");

    // A phone's width: the same views, narrower.
    await job.setViewportSize({ width: 390, height: 844 });
    await jobs.setViewportSize({ width: 390, height: 844 });
    await job.getByRole("img", { name: /^Loss by epoch/ }).waitFor();
    await screenshot(job, "job-phone");
    await screenshot(jobs, "jobs-phone");
    const overflow = await jobs.evaluate<number>(
      "document.documentElement.scrollWidth - innerWidth",
    );
    expect(overflow).toBeLessThanOrEqual(0);
  }, 120_000);

  it("with TROUPE_API_TOKEN: asks for the token and shows no data without it, works with it, and never puts it in a URL", async () => {
    await submit(quickSpec({ name: "secret-job" }), secureHttp, TOKEN);
    const page = await browser.newPage();
    await page.goto(`${secureHttp}/`);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    const before = await page.locator("body").innerText();
    expect(before).not.toMatch(/secret-job|job_|Workers|Queue/);
    await screenshot(page, "sign-in");

    const field = page.getByLabel("API token");
    await field.fill("not-the-token-at-all-0000");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("That token was refused.").waitFor();
    expect(await page.locator("body").innerText()).not.toMatch(/secret-job|job_/);

    await field.fill(TOKEN);
    await page.getByRole("button", { name: "Sign in" }).click();
    const row = page.getByRole("row", { name: /secret-job/ });
    await row.getByText("COMPLETED").waitFor();
    // The job's page reads its event stream with the token too.
    await row.getByRole("link", { name: "secret-job" }).click();
    await page
      .getByRole("heading", { name: /secret-job/ })
      .getByText("COMPLETED")
      .waitFor();
    await page.getByRole("link", { name: "Workers" }).click();
    await page.getByRole("heading", { name: "Workers" }).waitFor();
    await page
      .getByRole("listitem", { name: /^worker / })
      .getByText("IDLE")
      .waitFor();
    await page.getByRole("link", { name: "Queue" }).click();
    await page.getByRole("row", { name: /^urgent 0/ }).waitFor();
    // A reload keeps the tab signed in; signing out asks again.
    await page.reload();
    await page.getByRole("heading", { name: "Queue" }).waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();

    const mine = browser.requests.filter((r) => r.url.startsWith(secureHttp));
    expect(mine.length).toBeGreaterThan(5);
    for (const request of mine) expect(request.url).not.toContain(TOKEN);
    const events = mine.filter((r) => /\/api\/v1\/jobs\/job_\w+\/events$/.test(r.url));
    expect(events.length).toBeGreaterThan(0);
    for (const request of events) expect(request.authorization).toBe(`Bearer ${TOKEN}`);
  }, 60_000);
});
