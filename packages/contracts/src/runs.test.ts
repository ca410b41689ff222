import { ClaimReply, RunReport, RunSpec, RUNS_STREAM_SUBJECTS, runBranchName, runReportMsgId } from "./runs";

const ids = { runId: "7d1f0a52-3c1e-4b8e-9a51-2f1d7a3c9e01", taskId: "0b6c2f8e-91aa-4c5e-8d3f-6a7b8c9d0e1f" };

describe("runs contracts", () => {
  it("fills RunSpec defaults and keeps the claim reply nullable", () => {
    const spec = RunSpec.parse({
      ...ids,
      attempt: 1,
      repoUrl: "http://127.0.0.1:9/repo.git",
      repoBranch: "main",
      branchName: "optio/0b6c2f8e-fix",
      agentType: "shell",
      prompt: "echo hi",
      timeoutSeconds: 60,
    });
    expect(spec.env).toEqual({});
    expect(spec.secretEnv).toEqual({});
    expect(spec.gitCredential).toEqual({ source: "none" });
    expect(ClaimReply.parse({ run: null }).run).toBeNull();
  });

  it("rejects a report without attempt or with an unknown kind", () => {
    const base = { ...ids, seq: 1, runnerId: "r1", time: new Date().toISOString() };
    expect(RunReport.safeParse({ ...base, kind: "heartbeat" }).success).toBe(false);
    expect(RunReport.safeParse({ ...base, attempt: 1, kind: "bogus" }).success).toBe(false);
    expect(RunReport.parse({ ...base, attempt: 2, kind: "heartbeat" }).attempt).toBe(2);
  });

  it("builds branch names, message ids and stream subjects", () => {
    expect(runBranchName(ids.taskId, "Fix the README: typos & links!")).toBe(
      "optio/0b6c2f8e-fix-the-readme-typos-links",
    );
    expect(runBranchName(ids.taskId, "¿¿")).toBe("optio/0b6c2f8e");
    expect(runBranchName(ids.taskId, "a".repeat(80))).toHaveLength("optio/0b6c2f8e-".length + 40);
    expect(runReportMsgId({ runId: ids.runId, attempt: 3, seq: 9 }, "n")).toBe(`${ids.runId}:3:9:n`);
    expect(RUNS_STREAM_SUBJECTS).toContain("optio.runner.*.run.*.exited");
    expect(RUNS_STREAM_SUBJECTS).not.toContain("optio.runner.*.run.*.cancel");
  });
});
