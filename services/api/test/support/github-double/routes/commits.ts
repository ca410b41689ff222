// TEST ONLY. Check runs and commit statuses of the GitHub double (`:ref` is a sha or a branch).
import { HttpError, paginate, stringField, type Route } from "../router";
import type { GitHubWorld } from "../world";

const R = "/repos/:owner/:repo";
const STATES = ["pending", "success", "failure", "error"] as const;

/** GitHub's combined state: failure if any failed or errored, pending if any pending or none. */
function combinedState(states: string[]): string {
  if (states.some((state) => state === "failure" || state === "error")) return "failure";
  if (states.length === 0 || states.some((state) => state === "pending")) return "pending";
  return "success";
}

export function commitRoutes(world: GitHubWorld): Route[] {
  const repoOf = (params: Record<string, string>) => world.repo(params.owner!, params.repo!);
  return [
    {
      method: "GET",
      path: `${R}/commits/:ref/check-runs`,
      handle: (req) => {
        const repo = repoOf(req.params);
        const sha = world.resolveRef(repo, req.params.ref!);
        const all = world.checkRunsAt(repo, sha).map((run) => world.checkRunJson(repo, sha, run));
        const page = paginate(all, req);
        return { ...page, body: { total_count: all.length, check_runs: page.body } };
      },
    },
    {
      method: "GET",
      path: `${R}/commits/:ref/status`,
      handle: (req) => {
        const repo = repoOf(req.params);
        const sha = world.resolveRef(repo, req.params.ref!);
        // The combined status keeps the newest status per context.
        const latest = new Map<string, ReturnType<GitHubWorld["statusesAt"]>[number]>();
        for (const status of world.statusesAt(repo, sha))
          if (!latest.has(status.context)) latest.set(status.context, status);
        const statuses = [...latest.values()].map((status) => world.render.status(status));
        return {
          status: 200,
          body: {
            sha,
            state: combinedState(statuses.map((status) => status.state)),
            total_count: statuses.length,
            statuses,
            repository: world.render.repo(repo),
          },
        };
      },
    },
    {
      method: "GET",
      path: `${R}/commits/:ref/statuses`,
      handle: (req) => {
        const repo = repoOf(req.params);
        const sha = world.resolveRef(repo, req.params.ref!);
        return paginate(
          world.statusesAt(repo, sha).map((status) => world.render.status(status)),
          req,
        );
      },
    },
    {
      method: "POST",
      path: `${R}/statuses/:sha`,
      handle: (req) => {
        const repo = repoOf(req.params);
        const state = req.body.state as (typeof STATES)[number];
        if (!STATES.includes(state)) {
          throw new HttpError(422, "Validation Failed", [
            { resource: "Status", field: "state", code: "invalid" },
          ]);
        }
        const status = world.addStatus(repo, req.params.sha!, {
          state,
          context: stringField(req.body, "context", false),
          description: stringField(req.body, "description", false),
          targetUrl: stringField(req.body, "target_url", false),
        });
        return { status: 201, body: world.render.status(status) };
      },
    },
  ];
}
