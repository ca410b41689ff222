// A PrPlatform whose PR states the test sets, recording every write (with its idempotency key, so a
// repeated write with the same key is recorded once, as the platform's side-effect ledger does).
import { checksVerdict, type PrCheck, type PrSnapshot } from "@optio/core";
import type { PrPlatform, PrTarget } from "../../src/prloop/pr-platform";

export type PlatformWrite = {
  kind: "merge" | "review" | "close";
  prNumber: number;
  key: string;
  detail: string;
};

export class ScriptedPlatform implements PrPlatform {
  readonly prs = new Map<number, PrSnapshot>();
  readonly writes: PlatformWrite[] = [];
  reads = 0;

  set(number: number, change: Partial<PrSnapshot> & { checkItems?: PrCheck[] }): PrSnapshot {
    const { checkItems, ...rest } = change;
    const current = this.prs.get(number) ?? openPr(number);
    const items = checkItems ?? current.checks.items;
    const next = { ...current, ...rest, checks: { verdict: checksVerdict(items), items } };
    this.prs.set(number, next);
    return next;
  }

  private record(write: PlatformWrite): boolean {
    if (this.writes.some((w) => w.key === write.key)) return false;
    this.writes.push(write);
    return true;
  }

  async snapshot(target: PrTarget): Promise<PrSnapshot> {
    this.reads++;
    const pr = this.prs.get(target.prNumber);
    if (!pr) throw new Error(`no PR #${target.prNumber}`);
    return structuredClone(pr);
  }

  async merge(target: PrTarget, input: { method: string; headSha: string; key: string }) {
    const pr = this.prs.get(target.prNumber)!;
    if (pr.headSha !== input.headSha) return { merged: false as const, reason: "head moved" };
    this.record({ kind: "merge", prNumber: target.prNumber, key: input.key, detail: input.method });
    this.set(target.prNumber, { merged: true, state: "closed" });
    return { merged: true as const };
  }

  async review(target: PrTarget, input: { event: string; body: string; key: string }) {
    this.record({
      kind: "review",
      prNumber: target.prNumber,
      key: input.key,
      detail: `${input.event}: ${input.body}`,
    });
  }

  async close(target: PrTarget, input: { comment: string; key: string }) {
    this.record({ kind: "close", prNumber: target.prNumber, key: input.key, detail: input.comment });
    this.set(target.prNumber, { state: "closed" });
  }
}

export const check = (name: string, state: PrCheck["state"], summary: string | null = null): PrCheck => ({
  name,
  state,
  url: `http://127.0.0.1:9/ci/${name}`,
  summary,
});

export function openPr(number: number): PrSnapshot {
  return {
    number,
    url: `http://127.0.0.1:9/acme/app/pull/${number}`,
    state: "open",
    merged: false,
    draft: false,
    headRef: `optio/pr-${number}`,
    headSha: "a".repeat(40),
    baseRef: "main",
    mergeable: true,
    checks: { verdict: "pending", items: [check("build", "pending")] },
    review: { decision: "none", requestedChanges: [] },
  };
}
