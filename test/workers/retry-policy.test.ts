import { describe, expect, it } from "vitest";
import { Backoff, RetryPolicy } from "../../src/workers/retry-policy.ts";

describe("the retry policy", () => {
  it("doubles the back-off each attempt, within ±25 % jitter, and caps it at ten minutes", () => {
    const low = new Backoff(100, () => 0);
    const high = new Backoff(100, () => 1);
    expect([1, 2, 3, 4].map((a) => low.delayMs(a))).toEqual([75, 150, 300, 600]);
    expect([1, 2, 3, 4].map((a) => high.delayMs(a))).toEqual([125, 250, 500, 1000]);
    expect(new Backoff(60_000, () => 0.5).delayMs(20)).toBe(600_000);
  });

  it("retries a failed attempt until the last one, which fails the task for good", () => {
    const policy = new RetryPolicy(3, new Backoff(10, () => 0.5));
    expect(policy.afterFailure(1)).toEqual({ retry: true, delayMs: 10 });
    expect(policy.afterFailure(2)).toEqual({ retry: true, delayMs: 20 });
    expect(policy.afterFailure(3)).toEqual({ retry: false });
    expect(policy.allows(3)).toBe(true);
    expect(policy.allows(4)).toBe(false);
  });

  it("is the one a queued chunk carries", () => {
    const policy = RetryPolicy.of({ max_attempts: 1, backoff_ms: 500 });
    expect(policy.maxAttempts).toBe(1);
    expect(policy.backoff.baseMs).toBe(500);
    expect(policy.afterFailure(1)).toEqual({ retry: false });
  });
});
