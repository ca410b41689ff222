import {
  initialSubtaskState,
  nextStepToQueue,
  nextSubtaskOrder,
  pipelineProgress,
  subtaskConsequences,
  subtaskStatus,
  type SubtaskView,
} from "./subtasks";
import type { TaskState } from "./task-states";

let counter = 0;
const sub = (
  taskType: SubtaskView["taskType"],
  subtaskOrder: number,
  state: TaskState,
  blocksParent = taskType !== "child",
): SubtaskView => ({
  id: `t${++counter}`,
  title: `${taskType} ${subtaskOrder}`,
  taskType,
  subtaskOrder,
  blocksParent,
  state,
});

describe("steps", () => {
  it("queues the first step, holds later ones", () => {
    expect(initialSubtaskState("step", [])).toBe("queued");
    expect(initialSubtaskState("step", [sub("step", 0, "queued")])).toBe("pending");
    expect(initialSubtaskState("step", [sub("step", 0, "completed")])).toBe("queued");
  });
  it("orders steps among steps only (a child created first does not block step 1)", () => {
    const existing = [sub("child", 0, "running")];
    expect(initialSubtaskState("step", existing)).toBe("queued");
    expect(nextSubtaskOrder("step", existing)).toBe(0);
    expect(nextSubtaskOrder("child", existing)).toBe(1);
  });
  it("queues the next pending step once the previous one completed", () => {
    const s0 = sub("step", 0, "completed");
    const s1 = sub("step", 1, "pending");
    const s2 = sub("step", 2, "pending");
    expect(nextStepToQueue([s2, s1, s0])).toBe(s1);
  });
  it("stops at a failed step", () => {
    const steps = [sub("step", 0, "completed"), sub("step", 1, "failed"), sub("step", 2, "pending")];
    expect(nextStepToQueue(steps)).toBeNull();
    expect(pipelineProgress(steps)).toMatchObject({
      stopped: true,
      currentStepIndex: 2,
      completedSteps: 1,
      failedSteps: 1,
    });
  });
  it("reports progress", () => {
    expect(pipelineProgress([])).toBeNull();
    const steps = [sub("step", 0, "completed"), sub("step", 1, "running"), sub("step", 2, "pending")];
    expect(pipelineProgress(steps)).toEqual({
      totalSteps: 3,
      completedSteps: 1,
      failedSteps: 0,
      runningSteps: 1,
      currentStepIndex: 2,
      currentStepTitle: "step 1",
      stopped: false,
    });
  });
});

describe("status", () => {
  it("counts blocking subtasks only for allComplete", () => {
    const status = subtaskStatus([sub("child", 0, "running"), sub("step", 0, "completed")]);
    expect(status).toMatchObject({
      total: 2,
      allComplete: true,
      blocking: [],
      byState: { running: 1, completed: 1 },
    });
    const blocked = subtaskStatus([sub("review", 0, "queued")]);
    expect(blocked.allComplete).toBe(false);
    expect(blocked.blocking).toHaveLength(1);
  });
});

describe("consequences", () => {
  it("queues the next step when a step completes", () => {
    const s0 = sub("step", 0, "completed");
    const s1 = sub("step", 1, "pending");
    expect(subtaskConsequences(s0, [s0, s1], "running")).toEqual({ queueStepId: s1.id, parent: null });
  });
  it("completes a parent needing attention when the last blocker completes; a PR's merge ends pr_opened", () => {
    const r = sub("review", 0, "completed");
    expect(subtaskConsequences(r, [r], "needs_attention").parent).toMatchObject({ to: "completed" });
    expect(subtaskConsequences(r, [r, sub("step", 0, "queued")], "needs_attention").parent).toBeNull();
    expect(subtaskConsequences(r, [r], "pr_opened").parent).toBeNull();
    expect(subtaskConsequences(r, [r], "running").parent).toBeNull();
  });
  it("marks the parent needs_attention when a blocking subtask fails", () => {
    const s = sub("step", 0, "failed");
    expect(subtaskConsequences(s, [s], "pr_opened").parent).toMatchObject({
      to: "needs_attention",
      trigger: "subtask_failed",
    });
    // a running parent keeps its run; a failed child that does not block is ignored
    expect(subtaskConsequences(s, [s], "running").parent).toBeNull();
    const c = sub("child", 0, "failed");
    expect(subtaskConsequences(c, [c], "pr_opened").parent).toBeNull();
  });
});
