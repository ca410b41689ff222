import {
  CreateTaskBody,
  ListTasksQuery,
  UpdateTaskBody,
  AddDependenciesBody,
  CreateSubtaskBody,
  titleFromPrompt,
} from "./tasks";

const ID = "6f1c2a52-8a3e-4f0e-9d7c-1b2a3c4d5e6f";

describe("CreateTaskBody", () => {
  it("accepts the seed's example body as it is", () => {
    const parsed = CreateTaskBody.parse({
      title: "Add user avatar support",
      prompt: "Add avatar upload and display to user profiles",
      repoUrl: "https://github.com/acme/webapp",
      repoBranch: "main",
      agentType: "claude",
      priority: 0,
    });
    expect(parsed).toMatchObject({
      title: "Add user avatar support",
      agentType: "claude",
      priority: 0,
      dependsOn: [],
    });
  });

  it("normalises the reference's aliases", () => {
    const parsed = CreateTaskBody.parse({
      prompt: "\n  # Fix the login bug\nDetails follow",
      repoUrl: "https://github.com/acme/webapp",
      agentType: "claude-code",
      maxRetries: 2,
      claudeModel: "opus",
      dependsOnTaskId: ID,
    });
    expect(parsed).toMatchObject({
      title: "Fix the login bug",
      agentType: "claude",
      maxAttempts: 3,
      model: "opus",
      dependsOn: [ID],
    });
  });

  it("rejects unknown fields and conflicting aliases, naming the field", () => {
    const unknown = CreateTaskBody.safeParse({ prompt: "x", repoUrl: "https://x.io/a/b", colour: "red" });
    expect(unknown.success).toBe(false);
    expect(JSON.stringify(unknown.error?.issues)).toContain("colour");
    const conflict = CreateTaskBody.safeParse({
      prompt: "x",
      repoUrl: "https://x.io/a/b",
      maxAttempts: 2,
      maxRetries: 5,
    });
    expect(conflict.error?.issues[0]?.path).toEqual(["maxRetries"]);
  });

  it("bounds priority, metadata and dependsOn", () => {
    const base = { prompt: "x", repoUrl: "https://x.io/a/b" };
    expect(CreateTaskBody.safeParse({ ...base, priority: 1001 }).success).toBe(false);
    expect(CreateTaskBody.safeParse({ ...base, priority: 1.5 }).success).toBe(false);
    expect(CreateTaskBody.safeParse({ ...base, metadata: { blob: "x".repeat(20_000) } }).success).toBe(false);
    expect(CreateTaskBody.safeParse({ ...base, metadata: [1] }).success).toBe(false);
    expect(CreateTaskBody.safeParse({ ...base, dependsOn: [ID, ID] }).success).toBe(false);
    expect(CreateTaskBody.safeParse({ ...base, prompt: "   " }).success).toBe(false);
  });
});

describe("titleFromPrompt", () => {
  it("takes the first non-empty line and cuts long ones", () => {
    expect(titleFromPrompt("\n\nhello\nworld")).toBe("hello");
    expect(titleFromPrompt("a".repeat(300))).toHaveLength(200);
  });
});

describe("UpdateTaskBody", () => {
  it("requires a field and maps maxRetries", () => {
    expect(UpdateTaskBody.safeParse({}).success).toBe(false);
    expect(UpdateTaskBody.parse({ maxRetries: 0 })).toEqual({ maxAttempts: 1 });
    expect(UpdateTaskBody.safeParse({ state: "queued" }).success).toBe(false);
  });
});

describe("ListTasksQuery", () => {
  it("accepts one state, a list, or repeats", () => {
    expect(ListTasksQuery.parse({ state: "queued" }).state).toEqual(["queued"]);
    expect(ListTasksQuery.parse({ state: "queued,running" }).state).toEqual(["queued", "running"]);
    expect(ListTasksQuery.parse({ state: ["queued", "failed"] }).state).toEqual(["queued", "failed"]);
    expect(ListTasksQuery.safeParse({ state: "bogus" }).success).toBe(false);
  });
  it("defaults and bounds pagination, ignores unknown parameters", () => {
    expect(ListTasksQuery.parse({ token: "x" })).toMatchObject({ limit: 50, offset: 0, sort: "-created" });
    expect(ListTasksQuery.safeParse({ limit: "0" }).success).toBe(false);
    expect(ListTasksQuery.safeParse({ limit: "abc" }).success).toBe(false);
  });
});

describe("subtasks and dependencies", () => {
  it("defaults subtasks to child and refuses a non-blocking step", () => {
    expect(CreateSubtaskBody.parse({ prompt: "do it" })).toMatchObject({ taskType: "child", title: "do it" });
    expect(CreateSubtaskBody.safeParse({ prompt: "x", taskType: "step", blocksParent: false }).success).toBe(
      false,
    );
  });
  it("merges dependsOn and dependsOnIds and needs at least one", () => {
    expect(AddDependenciesBody.parse({ dependsOnIds: [ID] })).toEqual({ dependsOn: [ID] });
    expect(AddDependenciesBody.safeParse({}).success).toBe(false);
  });
});
