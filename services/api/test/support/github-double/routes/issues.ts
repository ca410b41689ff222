// TEST ONLY. Repository and issue routes of the GitHub double (issues list PRs too, like GitHub).
import { HttpError, intParam, paginate, stringField, type Route } from "../router";
import type { GitHubWorld } from "../world";

const R = "/repos/:owner/:repo";

export function issueRoutes(world: GitHubWorld): Route[] {
  const repoOf = (params: Record<string, string>) => world.repo(params.owner!, params.repo!);
  return [
    {
      method: "GET",
      path: "/user",
      handle: (req) => ({ status: 200, body: world.render.user(world.user(req.login)) }),
    },
    {
      method: "GET",
      path: R,
      handle: (req) => ({ status: 200, body: world.render.repo(repoOf(req.params)) }),
    },
    {
      method: "GET",
      path: `${R}/issues`,
      handle: (req) => {
        const repo = repoOf(req.params);
        const state = req.query.get("state") ?? "open";
        const labels = (req.query.get("labels") ?? "").split(",").filter(Boolean);
        const items = [...repo.issues.values()]
          .filter((issue) => state === "all" || issue.state === state)
          .filter((issue) => labels.every((label) => issue.labels.includes(label)))
          .sort((a, b) => b.number - a.number)
          .map((issue) => world.render.issue(repo, issue));
        return paginate(items, req);
      },
    },
    {
      method: "GET",
      path: `${R}/issues/:number`,
      handle: (req) => {
        const repo = repoOf(req.params);
        return { status: 200, body: world.render.issue(repo, world.issue(repo, intParam(req, "number"))) };
      },
    },
    {
      method: "PATCH",
      path: `${R}/issues/:number`,
      handle: (req) => {
        const repo = repoOf(req.params);
        const issue = world.issue(repo, intParam(req, "number"));
        const state = req.body.state;
        if (state !== undefined && state !== "open" && state !== "closed") {
          throw new HttpError(422, "Validation Failed", [
            { resource: "Issue", field: "state", code: "invalid" },
          ]);
        }
        world.updateIssue(repo, issue, {
          title: stringField(req.body, "title", false),
          body: req.body.body === null ? null : stringField(req.body, "body", false),
          state,
          stateReason: req.body.state_reason as "completed" | "not_planned" | undefined,
        });
        return { status: 200, body: world.render.issue(repo, issue) };
      },
    },
    {
      method: "GET",
      path: `${R}/issues/:number/comments`,
      handle: (req) => {
        const repo = repoOf(req.params);
        const issue = world.issue(repo, intParam(req, "number"));
        return paginate(
          world
            .comments(repo, issue.number)
            .map((comment) => world.render.comment(repo, issue.number, comment)),
          req,
        );
      },
    },
    {
      method: "POST",
      path: `${R}/issues/:number/comments`,
      handle: (req) => {
        const repo = repoOf(req.params);
        const issue = world.issue(repo, intParam(req, "number"));
        const comment = world.addComment(repo, issue, stringField(req.body, "body")!, req.login);
        return { status: 201, body: world.render.comment(repo, issue.number, comment) };
      },
    },
    {
      method: "POST",
      path: `${R}/issues/:number/labels`,
      handle: (req) => {
        const repo = repoOf(req.params);
        const issue = world.issue(repo, intParam(req, "number"));
        const labels = req.body.labels;
        if (!Array.isArray(labels) || labels.some((label) => typeof label !== "string" || !label)) {
          throw new HttpError(422, "Validation Failed", [
            { resource: "Label", field: "labels", code: "invalid" },
          ]);
        }
        world.addLabels(repo, issue, labels as string[]);
        return { status: 200, body: issue.labels.map((name) => ({ name, color: "6d28d9" })) };
      },
    },
    {
      method: "POST",
      path: `${R}/labels`,
      handle: (req) => {
        const repo = repoOf(req.params);
        const name = stringField(req.body, "name")!;
        if (repo.labels.has(name)) {
          throw new HttpError(422, "Validation Failed", [
            { resource: "Label", field: "name", code: "already_exists" },
          ]);
        }
        repo.labels.add(name);
        return { status: 201, body: { name, color: String(req.body.color ?? "ededed") } };
      },
    },
  ];
}
