// When a failed delivery is tried again: exponential back-off from `baseMs`, capped at `maxDelayMs`,
// with jitter (each delay is drawn between half and all of its nominal value, so receivers coming
// back from an outage are not hit by every sender at once). A delivery whose next attempt would fall
// after `maxAgeMs` from its creation is given up.
export type RetrySettings = { baseMs: number; maxDelayMs: number; maxAgeMs: number };

/** The next attempt after `attempts` failed ones, or null to give up. */
export function nextAttemptAt(
  attempts: number,
  createdAt: Date,
  now: Date,
  settings: RetrySettings,
  random: () => number = Math.random,
): Date | null {
  const nominal = Math.min(
    settings.maxDelayMs,
    settings.baseMs * 2 ** Math.max(0, Math.min(attempts - 1, 40)),
  );
  const delay = nominal / 2 + random() * (nominal / 2);
  const next = new Date(now.getTime() + delay);
  return next.getTime() - createdAt.getTime() > settings.maxAgeMs ? null : next;
}
