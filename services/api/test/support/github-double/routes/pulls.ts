// TEST ONLY. Pull request routes of the GitHub double: list (by head/base/state), create, get,
// update/close, merge with a method, reviews.
import { HttpError, intParam, paginate, stringField, type Route } from "../router";
import type { GitHubWorld, MergeMethod } from "../world";

const R = "/repos/:owner/:repo";
const METHODS: MergeMethod[] = ["merge", "squash", "rebase"];
const EVENTS = ["APPROVE", "REQUEST_CHANGES", "COMMENT"] as const;

export function pullRoutes(world: GitHubWorld): Route[] {
  const repoOf = (params: Record<string, string>) => world.repo(params.owner!, params.repo!);
  return [
    {
      method: "GET",
      path: `${R}/pulls`,
      handle: (req) => {
        const repo = repoOf(req.params);
        const state = req.query.get("state") ?? "open";
        const head = req.query.get("head");
        const base = req.query.get("base");
        const items = world
          .pulls(repo)
          .filter((issue) => state === "all" || issue.state === state)
          .filter(
            (issue) => !head || `${repo.owner}:${issue.pull!.head}`.toLowerCase() === head.toLowerCase(),
          )
          .filter((issue) => !base || issue.pull!.base === base)
          .sort((a, b) => b.number - a.number)
          .map((issue) => world.pullJson(repo, issue));
        return paginate(items, req);
      },
    },
    {
      method: "POST",
      path: `${R}/pulls`,
      handle: (req) => {
        const repo = repoOf(req.params);
        const issue = world.createPull(repo, {
          title: stringField(req.body, "title")!,
          head: stringField(req.body, "head")!,
          base: stringField(req.body, "base")!,
          body: stringField(req.body, "body", false) ?? null,
          draft: req.body.draft === true,
          author: req.login,
        });
        return { status: 201, body: world.pullJson(repo, issue) };
      },
    },
    {
      method: "GET",
      path: `${R}/pulls/:number`,
      handle: (req) => {
        const repo = repoOf(req.params);
        return { status: 200, body: world.pullJson(repo, world.pull(repo, intParam(req, "number"))) };
      },
    },
    {
      method: "PATCH",
      path: `${R}/pulls/:number`,
      handle: (req) => {
        const repo = repoOf(req.params);
        const issue = world.pull(repo, intParam(req, "number"));
        const state = req.body.state;
        if (state !== undefined && state !== "open" && state !== "closed") {
          throw new HttpError(422, "Validation Failed", [
            { resource: "PullRequest", field: "state", code: "invalid" },
          ]);
        }
        if (issue.pull!.merged && state === "open") throw new HttpError(422, "Validation Failed");
        world.updateIssue(repo, issue, {
          title: stringField(req.body, "title", false),
          body: stringField(req.body, "body", false),
          state,
        });
        return { status: 200, body: world.pullJson(repo, issue) };
      },
    },
    {
      method: "PUT",
      path: `${R}/pulls/:number/merge`,
      handle: (req) => {
        const repo = repoOf(req.params);
        const issue = world.pull(repo, intParam(req, "number"));
        const method = (req.body.merge_method ?? "merge") as MergeMethod;
        if (!METHODS.includes(method)) {
          throw new HttpError(422, "Validation Failed", [
            { resource: "PullRequest", field: "merge_method", code: "invalid" },
          ]);
        }
        const result = world.mergePull(repo, issue, {
          method,
          sha: stringField(req.body, "sha", false),
          title: stringField(req.body, "commit_title", false),
          by: req.login,
        });
        return { status: 200, body: result };
      },
    },
    {
      method: "GET",
      path: `${R}/pulls/:number/reviews`,
      handle: (req) => {
        const repo = repoOf(req.params);
        const issue = world.pull(repo, intParam(req, "number"));
        return paginate(
          world.reviews(repo, issue.number).map((review) => world.render.review(repo, issue.number, review)),
          req,
        );
      },
    },
    {
      method: "POST",
      path: `${R}/pulls/:number/reviews`,
      handle: (req) => {
        const repo = repoOf(req.params);
        const issue = world.pull(repo, intParam(req, "number"));
        const event = req.body.event as (typeof EVENTS)[number];
        if (!EVENTS.includes(event)) {
          throw new HttpError(422, "Validation Failed", [
            { resource: "PullRequestReview", field: "event", code: "invalid" },
          ]);
        }
        const review = world.addReview(repo, issue, {
          event,
          body: stringField(req.body, "body", false),
          author: req.login,
        });
        return { status: 200, body: world.render.review(repo, issue.number, review) };
      },
    },
  ];
}
