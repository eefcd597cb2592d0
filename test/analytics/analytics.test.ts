import { describe, expect, it } from "vitest";
import { causeOf } from "../../src/analytics/analytics.ts";
import { apiClient } from "../support/api-client.ts";
import { getJob, type Job, quickSpec, submit, waitForJob } from "../support/jobs.ts";
import { startNats } from "../support/nats.ts";
import { startTroupes, type TroupeProcess } from "../support/troupe-process.ts";

const JOBS = 500;
const MODELS = ["logistic_regression", "neural_network"] as const;
const USERS = ["alice", "bob", "carol"] as const;
/** Worker crashes now and then: some jobs retry, those with one attempt fail. */
const ENV = {
  MAX_CONCURRENT_TASKS: "4",
  TROUPE_FAULTS: "worker=0.04",
  CHUNK_TARGET: "0ms",
};

type Report = {
  total_jobs: number;
  by_status: Record<string, number>;
  success_metrics: {
    success_rate: number;
    retry_rate: number;
    total_retries: number;
    failure_analysis: { error: string; count: number }[];
  };
  by_model_type: Record<string, { jobs: number; completed: number; failed: number }>;
  by_user: Record<string, { jobs: number; completed: number; failed: number }>;
};

async function urlsOf(processes: TroupeProcess[]): Promise<string[]> {
  return Promise.all(
    processes.map(async (p) => (await p.waitForLog("troupe started")).http as string),
  );
}

async function analytics(url: string): Promise<Report> {
  const res = await fetch(`${url}/api/v1/analytics?window=1h`);
  expect(res.status).toBe(200);
  return (await res.json()) as Report;
}

/** The counts a report must carry, computed from the job records. */
function expected(jobs: (Job & { model_type: string; user_id: string })[]) {
  const count = (pick: (job: Job) => boolean) => jobs.filter(pick).length;
  const group = (key: "model_type" | "user_id", value: string) => {
    const of = jobs.filter((job) => job[key] === value);
    return {
      jobs: of.length,
      completed: of.filter((j) => j.status === "COMPLETED").length,
      failed: of.filter((j) => j.status === "FAILED").length,
    };
  };
  const errors = new Map<string, number>();
  for (const job of jobs) {
    if (job.status !== "FAILED" || !job.error) continue;
    errors.set(causeOf(job.error), (errors.get(causeOf(job.error)) ?? 0) + 1);
  }
  return {
    total_jobs: jobs.length,
    by_status: {
      COMPLETED: count((j) => j.status === "COMPLETED"),
      FAILED: count((j) => j.status === "FAILED"),
      CANCELLED: 0,
      TIMEOUT: 0,
    },
    total_retries: jobs.reduce((sum, job) => sum + job.retries, 0),
    retried: count((j) => j.retries > 0),
    errors: Object.fromEntries(errors),
    by_model_type: Object.fromEntries(MODELS.map((m) => [m, group("model_type", m)])),
    by_user: Object.fromEntries(USERS.map((u) => [u, group("user_id", u)])),
  };
}

function expectMatches(report: Report, want: ReturnType<typeof expected>): void {
  expect(report.total_jobs).toBe(want.total_jobs);
  expect(report.by_status).toEqual(want.by_status);
  expect(report.success_metrics.total_retries).toBe(want.total_retries);
  expect(report.success_metrics.retry_rate).toBeCloseTo(want.retried / want.total_jobs, 3);
  expect(report.success_metrics.success_rate).toBeCloseTo(
    want.by_status.COMPLETED / (want.by_status.COMPLETED + want.by_status.FAILED),
    3,
  );
  expect(
    Object.fromEntries(report.success_metrics.failure_analysis.map((f) => [f.error, f.count])),
  ).toEqual(want.errors);
  expect(report.by_model_type).toMatchObject(want.by_model_type);
  expect(report.by_user).toMatchObject(want.by_user);
}

describe("analytics", () => {
  it("over 500 ended jobs (some failed, some retried) match the job records, from two processes and after a restart of all", async () => {
    const nats = await startNats();
    const first = await startTroupes(2, nats.url, ENV);
    const client = await apiClient(nats.url);
    const ids: string[] = [];
    for (let i = 0; i < JOBS; i++) {
      ids.push(
        await submit(
          client,
          quickSpec({
            model_type: MODELS[i % MODELS.length],
            user_id: USERS[i % USERS.length],
            tasks: 1,
            epochs: 1,
            retry_policy: { max_attempts: i % 2 === 0 ? 1 : 3, backoff_ms: 0 },
          }),
        ),
      );
    }
    for (const id of ids) await waitForJob(client, id);
    const jobs = await Promise.all(
      ids.map(
        async (id) => (await getJob(client, id)) as Job & { model_type: string; user_id: string },
      ),
    );
    const want = expected(jobs);
    // The faults did their part: the report has failures and retries to count.
    expect(want.by_status.FAILED).toBeGreaterThan(0);
    expect(want.retried).toBeGreaterThan(0);

    // A job's summary follows its final record: wait until every one is in.
    const [a, b] = await urlsOf(first);
    for (const url of [a, b] as string[]) {
      let report = await analytics(url);
      const deadline = Date.now() + 20_000;
      while (report.total_jobs < JOBS && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        report = await analytics(url);
      }
      expectMatches(report, want);
    }

    await Promise.all(
      first.map((p) => {
        p.signal("SIGKILL");
        return p.exited;
      }),
    );
    const second = await startTroupes(2, nats.url, ENV);
    const urls = await urlsOf(second);
    for (const url of urls) expectMatches(await analytics(url), want);

    // A window that is not a duration is refused, naming it; the process answers on.
    const refused = await fetch(`${urls[0]}/api/v1/analytics?window=yesterday`);
    expect(refused.status).toBe(400);
    expect(await refused.text()).toMatch(/window/);
    const reply = await client.request<{ error: { message: string } }>("troupe.analytics.get", {
      window: 5,
    });
    expect(reply.serviceErrorCode).toBe("400");
    expect(reply.body.error.message).toMatch(/\/window/);
    expect((await fetch(`${urls[0]}/api/v1/analytics`)).status).toBe(200);
  }, 90_000);
});
