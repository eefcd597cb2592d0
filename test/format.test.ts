import { describe, expect, it } from "vitest";
import { fmtAgo, fmtDuration, fmtLoss, fmtPercent } from "../src/format.ts";

describe("numbers and times as people read them", () => {
  it("writes durations compact for the CLI's tables and spaced for the dashboard", () => {
    const cases: [number, string, string][] = [
      [850, "850ms", "850 ms"],
      [12_340, "12.3s", "12.3 s"],
      [245_000, "4m05s", "4 m 05 s"],
      [7_800_000, "2h10m", "2 h 10 m"],
      [-1, "—", "—"],
    ];
    for (const [ms, compact, spaced] of cases) {
      expect(fmtDuration(ms)).toBe(compact);
      expect(fmtDuration(ms, true)).toBe(spaced);
    }
  });

  it("says how long ago, in either style, and — when unknown", () => {
    const now = Date.parse("2026-12-03T12:00:00Z");
    const at = (s: number) => new Date(now - s * 1_000).toISOString();
    expect([5, 180, 7_200, 4 * 86_400].map((s) => fmtAgo(at(s), now))).toEqual([
      "5s ago",
      "3m ago",
      "2h ago",
      "4d ago",
    ]);
    expect(fmtAgo(at(180), now, true)).toBe("3 min ago");
    expect(fmtAgo(null, now)).toBe("—");
  });

  it("writes losses and shares, — when unknown", () => {
    expect(fmtLoss(0.412345)).toBe("0.4123");
    expect(fmtLoss(null)).toBe("—");
    expect(fmtPercent(0.8724)).toBe("87.2%");
    expect(fmtPercent(Number.NaN)).toBe("—");
  });
});
