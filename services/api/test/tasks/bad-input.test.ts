// Property-based bad input on every task body and query: a 4xx naming the field, never a 500,
// and nothing written.
import fc from "fast-check";
import { z } from "zod";
import {
  AgentTypeInput,
  BranchName,
  CommentBody,
  ListTasksQuery,
  MaxAttempts,
  MaxCostUsd,
  MaxTurns,
  ModelName,
  Priority,
  RepoUrlInput,
  SubtaskType,
  TaskMetadata,
  TaskPrompt,
  TaskTitle,
} from "@optio/contracts";
import { invalidBodies } from "../helpers/invalid-bodies";
import { rowCounts } from "../helpers/row-counts";
import { createTestContext, type TestContext } from "../helpers/test-context";
import { apiFor, createTask, type Api } from "./task-fixtures";

let ctx: TestContext;
let api: Api;
let queuedId = "";
let failedLikeId = "";
beforeAll(async () => {
  ctx = await createTestContext();
  api = await apiFor(ctx);
  queuedId = (await createTask(api)).id;
  failedLikeId = (await createTask(api)).id;
});
afterAll(() => ctx.close());

const ids = z.array(z.uuid()).max(100);
const retries = z.number().int().min(0).max(19);

type Endpoint = {
  name: string;
  method: "post" | "patch";
  path: () => string;
  valid: Record<string, unknown>;
  shape: Record<string, z.ZodType>;
  partial?: boolean;
};

const endpoints: Endpoint[] = [
  {
    name: "POST /api/tasks",
    method: "post",
    path: () => "/api/tasks",
    valid: { prompt: "Fuzz me", repoUrl: "https://github.com/acme/fuzz" },
    shape: {
      title: TaskTitle,
      prompt: TaskPrompt,
      repoUrl: RepoUrlInput,
      repoBranch: BranchName,
      agentType: AgentTypeInput,
      model: ModelName,
      claudeModel: ModelName,
      priority: Priority,
      maxAttempts: MaxAttempts,
      maxRetries: retries,
      maxCostUsd: MaxCostUsd,
      maxTurns: MaxTurns,
      metadata: TaskMetadata,
      dependsOn: ids,
      dependsOnTaskId: z.uuid(),
      type: z.literal("repo-task"),
    },
  },
  {
    name: "PATCH /api/tasks/:id",
    method: "patch",
    path: () => `/api/tasks/${queuedId}`,
    valid: { title: "Renamed" },
    partial: true,
    shape: {
      title: TaskTitle,
      prompt: TaskPrompt,
      priority: Priority,
      repoBranch: BranchName,
      agentType: AgentTypeInput,
      model: ModelName.nullable(),
      maxAttempts: MaxAttempts,
      maxRetries: retries,
      maxCostUsd: MaxCostUsd.nullable(),
      maxTurns: MaxTurns.nullable(),
      metadata: TaskMetadata,
    },
  },
  {
    name: "POST /api/tasks/:id/subtasks",
    method: "post",
    path: () => `/api/tasks/${queuedId}/subtasks`,
    valid: { prompt: "sub" },
    shape: {
      title: TaskTitle,
      prompt: TaskPrompt,
      taskType: SubtaskType,
      blocksParent: z.boolean(),
      repoBranch: BranchName,
      agentType: AgentTypeInput,
      model: ModelName,
      priority: Priority,
      maxAttempts: MaxAttempts,
      maxCostUsd: MaxCostUsd,
      maxTurns: MaxTurns,
      metadata: TaskMetadata,
    },
  },
  {
    name: "POST /api/tasks/:id/dependencies",
    method: "post",
    path: () => `/api/tasks/${failedLikeId}/dependencies`,
    valid: { dependsOn: [] },
    partial: true,
    shape: { dependsOn: ids, dependsOnIds: ids },
  },
  {
    name: "POST /api/tasks/:id/comments",
    method: "post",
    path: () => `/api/tasks/${queuedId}/comments`,
    valid: { content: "hi" },
    shape: { content: CommentBody.shape.content },
  },
  {
    name: "POST /api/tasks/reorder",
    method: "post",
    path: () => "/api/tasks/reorder",
    valid: { taskIds: [] },
    partial: true,
    shape: { taskIds: z.array(z.uuid()).min(1).max(1000) },
  },
  ...["resume", "force-restart"].map((action): Endpoint => ({
    name: `POST /api/tasks/:id/${action}`,
    method: "post",
    path: () => `/api/tasks/${queuedId}/${action}`,
    valid: { prompt: "again" },
    partial: true,
    shape: { prompt: TaskPrompt },
  })),
  ...["cancel", "retry", "force-redo", "review"].map((action): Endpoint => ({
    name: `POST /api/tasks/:id/${action}`,
    method: "post",
    path: () => `/api/tasks/${queuedId}/${action}`,
    valid: {},
    partial: true,
    shape: {},
  })),
];

describe.each(endpoints)("$name", (endpoint) => {
  it("answers 400 naming the field, writes nothing", async () => {
    const before = await rowCounts(ctx.prisma);
    const arbitrary =
      Object.keys(endpoint.shape).length > 0
        ? invalidBodies(endpoint.valid, endpoint.shape, { partial: endpoint.partial })
        : fc
            .tuple(fc.stringMatching(/^[a-z][a-zA-Z0-9]{0,12}$/), fc.integer())
            .map(([key, value]) => ({ body: { [key]: value } as unknown, path: `body.${key}` }));
    await fc.assert(
      fc.asyncProperty(arbitrary, async ({ body, path }) => {
        const res = await api
          .auth(ctx.http[endpoint.method](endpoint.path()))
          .set("content-type", "application/json")
          .send(JSON.stringify(body));
        expect(res.status).toBe(400);
        expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:|SELECT|INSERT|prisma/i);
        expect(res.body.code).toMatch(/^(VALIDATION_FAILED|DEPENDENCY_CYCLE)$/);
        const paths = (res.body.details as { path: string }[]).map((detail) => detail.path);
        expect(paths.some((p) => p === path || p.startsWith(`${path}.`))).toBe(true);
      }),
      { numRuns: 40 },
    );
    expect(await rowCounts(ctx.prisma)).toEqual(before);
  });
});

describe("queries", () => {
  const params = [
    "state",
    "type",
    "agentType",
    "repoId",
    "parentId",
    "createdAfter",
    "createdBefore",
    "sort",
    "limit",
    "offset",
    "q",
  ];
  it("GET /api/tasks answers 400 naming the bad parameter", async () => {
    const arbitrary = fc
      .tuple(
        fc.constantFrom(...params),
        fc.oneof(fc.string({ maxLength: 30 }), fc.integer().map(String), fc.constant("   ")),
      )
      .filter(([param, value]) => !ListTasksQuery.safeParse({ [param]: value }).success);
    await fc.assert(
      fc.asyncProperty(arbitrary, async ([param, value]) => {
        const res = await api.auth(ctx.http.get("/api/tasks").query({ [param]: value }));
        expect(res.status).toBe(400);
        expect(
          (res.body.details as { path: string }[]).some((d) => d.path.startsWith(`query.${param}`)),
        ).toBe(true);
      }),
      { numRuns: 80 },
    );
  });

  it("DELETE ?force= and malformed ids answer 400", async () => {
    const before = await rowCounts(ctx.prisma);
    const force = await api.auth(ctx.http.delete(`/api/tasks/${queuedId}?force=yes`)).expect(400);
    expect(force.body.details[0].path).toBe("query.force");
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^[a-z0-9-]{1,40}$/).filter((s) => !z.uuid().safeParse(s).success),
        async (id) => {
          const res = await api.auth(ctx.http.get(`/api/tasks/${id}`));
          expect(res.status).toBe(400);
          expect(res.body.details[0].path).toBe("params.id");
        },
      ),
      { numRuns: 20 },
    );
    expect(await rowCounts(ctx.prisma)).toEqual(before);
  });
});
