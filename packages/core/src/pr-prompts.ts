// The prompts of runs the PR loop starts: a fix-up run (failing checks, requested changes, a merge
// conflict) and a review run. Pure text builders; the agent sees nothing else about the PR.
import type { PrCheck, PrSnapshot } from "./pull-request";

/** What went wrong on the PR, as the fix-up prompt describes it. */
export type PrProblem =
  | { kind: "merge_conflict" }
  | { kind: "ci_failing"; checks: PrCheck[] }
  | { kind: "changes_requested"; comments: string[] };

const EXCERPT_CHARS = 1500;
const clip = (text: string, max = EXCERPT_CHARS) => (text.length > max ? `${text.slice(0, max)}…` : text);

function describe(problem: PrProblem, pr: PrSnapshot): string {
  switch (problem.kind) {
    case "merge_conflict":
      return [
        `## Merge conflict`,
        `The branch \`${pr.headRef}\` no longer merges cleanly into \`${pr.baseRef}\`.`,
        `Rebase it: \`git fetch origin ${pr.baseRef} && git rebase origin/${pr.baseRef}\`, resolve every`,
        `conflict keeping the intent of both sides, \`git add\` the files and \`git rebase --continue\`.`,
        `Run the tests afterwards.`,
      ].join("\n");
    case "ci_failing":
      return [
        `## Failing checks`,
        `These checks fail on ${pr.headSha.slice(0, 12)}; find the cause, fix it and run the tests locally:`,
        ...problem.checks.map((check) => {
          const link = check.url ? ` (${check.url})` : "";
          const summary = check.summary ? `\n  ${clip(check.summary).replace(/\n/g, "\n  ")}` : "";
          return `- **${check.name}**: ${check.state}${link}${summary}`;
        }),
      ].join("\n");
    case "changes_requested":
      return [
        `## Requested changes`,
        `A reviewer asked for changes; address each point:`,
        ...(problem.comments.length > 0
          ? problem.comments.map((comment) => `- ${clip(comment).replace(/\n/g, "\n  ")}`)
          : ["- (the review gave no details: read the PR's review comments)"]),
      ].join("\n");
  }
}

/** The prompt of a fix-up run on the PR's branch. */
export function fixUpPrompt(problems: readonly PrProblem[], pr: PrSnapshot): string {
  return [
    `Pull request #${pr.number} (${pr.url}) for this task is open on branch \`${pr.headRef}\`.`,
    `You are on that branch. Fix what is described below. Do not open another pull request and do`,
    `not switch branches: Optio pushes your commits to the same PR.`,
    "",
    ...problems.map((problem) => describe(problem, pr)),
  ].join("\n\n");
}

/** The line a review agent ends with; `parseReviewVerdict` in @optio/agents reads it. */
export const REVIEW_VERDICT_PREFIX = "OPTIO_REVIEW_VERDICT:";

/** The prompt of a review run: the task, the PR, and the documented verdict format. */
export function reviewPrompt(task: { title: string; prompt: string }, pr: PrSnapshot): string {
  return [
    `Review pull request #${pr.number} (${pr.url}): branch \`${pr.headRef}\` into \`${pr.baseRef}\`,`,
    `head ${pr.headSha}. You are on the PR's branch; \`git fetch origin ${pr.baseRef}\`, then`,
    `\`git diff origin/${pr.baseRef}...HEAD\` shows the change. Do not modify files: your output is the review.`,
    "",
    `The task the PR implements: ${task.title}`,
    "",
    clip(task.prompt, 20_000),
    "",
    `Check correctness, tests and the task's requirements. Finish with your review text, then one`,
    `last line, exactly one of:`,
    `${REVIEW_VERDICT_PREFIX} approve`,
    `${REVIEW_VERDICT_PREFIX} request_changes`,
  ].join("\n");
}
