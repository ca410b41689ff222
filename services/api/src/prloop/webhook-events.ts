// What a GitHub webhook delivery is about: which pull requests (by number, head branch or head
// commit) of which repository to look at again, or an issue labelled for Optio. Pure; payloads are
// parsed with the few fields used (a payload missing them is malformed: 400 naming the field).
import { z } from "zod";
import { invalidField } from "../errors";
import { normaliseRepoUrl } from "../repos/repo-url";

/** Events the PR loop subscribes to; any other is acknowledged and ignored. */
export const WEBHOOK_EVENTS = [
  "pull_request",
  "pull_request_review",
  "check_run",
  "check_suite",
  "status",
  "issues",
  "issue_comment",
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export type WebhookSubject =
  | { kind: "prs"; repoUrl: string; numbers: number[]; branches: string[]; shas: string[] }
  | { kind: "issue_labeled"; repoUrl: string; issueNumber: number; label: string }
  | { kind: "none" };

const Repository = z.object({ html_url: z.string().min(1) });
const PrRef = z.object({ number: z.number().int().positive() });
const Sha = z.string().min(7).max(64);

const Schemas = {
  pull_request: z.object({
    repository: Repository,
    pull_request: PrRef.extend({ head: z.object({ ref: z.string(), sha: Sha }) }),
  }),
  pull_request_review: z.object({ repository: Repository, pull_request: PrRef }),
  check_run: z.object({
    repository: Repository,
    check_run: z.object({
      head_sha: Sha,
      pull_requests: z.array(PrRef).default([]),
      check_suite: z.object({ head_branch: z.string().nullable() }).partial().optional(),
    }),
  }),
  check_suite: z.object({
    repository: Repository,
    check_suite: z.object({
      head_sha: Sha,
      head_branch: z.string().nullable().optional(),
      pull_requests: z.array(PrRef).default([]),
    }),
  }),
  status: z.object({
    repository: Repository,
    sha: Sha,
    branches: z.array(z.object({ name: z.string() })).default([]),
  }),
  issues: z.object({
    action: z.string(),
    repository: Repository,
    issue: z.object({ number: z.number().int().positive() }),
    label: z.object({ name: z.string() }).optional(),
  }),
  issue_comment: z.object({
    repository: Repository,
    issue: z.object({ number: z.number().int().positive(), pull_request: z.unknown().optional() }),
  }),
} satisfies Record<WebhookEvent, z.ZodType>;

export function isWebhookEvent(name: string): name is WebhookEvent {
  return (WEBHOOK_EVENTS as readonly string[]).includes(name);
}

function parse<E extends WebhookEvent>(event: E, payload: unknown): z.output<(typeof Schemas)[E]> {
  const result = Schemas[event].safeParse(payload);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw invalidField(["body", ...issue.path.map(String)].join("."), issue.message);
  }
  return result.data as z.output<(typeof Schemas)[E]>;
}

const repoUrlOf = (repository: { html_url: string }) =>
  normaliseRepoUrl(repository.html_url, "body.repository.html_url").repoUrl;

const prs = (
  repository: { html_url: string },
  parts: { numbers?: number[]; branches?: (string | null | undefined)[]; shas?: string[] },
): WebhookSubject => ({
  kind: "prs",
  repoUrl: repoUrlOf(repository),
  numbers: parts.numbers ?? [],
  branches: (parts.branches ?? []).filter((branch): branch is string => !!branch),
  shas: parts.shas ?? [],
});

export function webhookSubject(event: WebhookEvent, payload: unknown): WebhookSubject {
  switch (event) {
    case "pull_request": {
      const { repository, pull_request: pr } = parse(event, payload);
      return prs(repository, { numbers: [pr.number], branches: [pr.head.ref], shas: [pr.head.sha] });
    }
    case "pull_request_review": {
      const { repository, pull_request: pr } = parse(event, payload);
      return prs(repository, { numbers: [pr.number] });
    }
    case "check_run": {
      const { repository, check_run: run } = parse(event, payload);
      return prs(repository, {
        numbers: run.pull_requests.map((pr) => pr.number),
        branches: [run.check_suite?.head_branch],
        shas: [run.head_sha],
      });
    }
    case "check_suite": {
      const { repository, check_suite: suite } = parse(event, payload);
      return prs(repository, {
        numbers: suite.pull_requests.map((pr) => pr.number),
        branches: [suite.head_branch],
        shas: [suite.head_sha],
      });
    }
    case "status": {
      const { repository, sha, branches } = parse(event, payload);
      return prs(repository, { branches: branches.map((branch) => branch.name), shas: [sha] });
    }
    case "issue_comment": {
      const { repository, issue } = parse(event, payload);
      // A comment on a PR may carry review feedback; one on an issue is none of the loop's business.
      return issue.pull_request ? prs(repository, { numbers: [issue.number] }) : { kind: "none" };
    }
    case "issues": {
      const { action, repository, issue, label } = parse(event, payload);
      if (action !== "labeled" || !label) return { kind: "none" };
      return {
        kind: "issue_labeled",
        repoUrl: repoUrlOf(repository),
        issueNumber: issue.number,
        label: label.name,
      };
    }
  }
}
