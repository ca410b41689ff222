// The repos' URL policy (normalise; refuse loopback/private hosts) with a short per-host memory:
// intake checks the same few hosts over and over, and a DNS lookup per request costs more than the
// rest of the request (and piles up in libuv's small resolver pool under load). Concurrent checks
// of one host share one lookup; verdicts (allowed or refused) are kept for `ttlMs`.
import { normaliseRepoUrl, type NormalisedRepoUrl, type RepoUrlPolicy } from "../repos/repo-url";

type Verdict = { expires: number; result: Promise<void> };

export class RepoUrlGuard {
  private readonly policy: RepoUrlPolicy;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly verdicts = new Map<string, Verdict>();

  constructor(options: { policy: RepoUrlPolicy; ttlMs?: number; now?: () => number }) {
    this.policy = options.policy;
    this.ttlMs = options.ttlMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  async check(input: string, field = "body.repoUrl"): Promise<NormalisedRepoUrl> {
    const normalised = normaliseRepoUrl(input, field);
    const key = `${field}\u0000${normalised.host}`;
    const now = this.now();
    let verdict = this.verdicts.get(key);
    if (!verdict || verdict.expires <= now) {
      const result = this.policy.check(input, field).then(() => undefined);
      verdict = { expires: now + this.ttlMs, result };
      this.verdicts.set(key, verdict);
      if (this.verdicts.size > 10_000) this.verdicts.delete(this.verdicts.keys().next().value!);
    }
    await verdict.result;
    return normalised;
  }
}
