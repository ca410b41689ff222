import { nextAttemptAt, type RetrySettings } from "./retry-policy";

const settings: RetrySettings = { baseMs: 1_000, maxDelayMs: 60_000, maxAgeMs: 3_600_000 };
const created = new Date("2026-01-01T00:00:00Z");
const delayAfter = (attempts: number, random: number, now = created) =>
  nextAttemptAt(attempts, created, now, settings, () => random)!.getTime() - now.getTime();

describe("nextAttemptAt", () => {
  it("doubles the delay per attempt, between half and all of the nominal value", () => {
    expect([1, 2, 3, 4].map((n) => delayAfter(n, 1))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect([1, 2, 3, 4].map((n) => delayAfter(n, 0))).toEqual([500, 1_000, 2_000, 4_000]);
  });

  it("caps the delay at maxDelayMs, even after very many attempts", () => {
    expect(delayAfter(10, 1)).toBe(60_000);
    expect(delayAfter(10_000, 1)).toBe(60_000);
  });

  it("gives up when the next attempt would fall after maxAgeMs from creation", () => {
    const late = new Date(created.getTime() + 3_600_000 - 30_000);
    expect(nextAttemptAt(3, created, late, settings, () => 1)).not.toBeNull();
    expect(nextAttemptAt(10, created, late, settings, () => 1)).toBeNull();
  });
});
