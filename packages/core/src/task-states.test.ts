import { ACTION_RULES, TASK_ACTIONS, actionTarget } from "./task-actions";
import {
  TASK_STATES,
  TERMINAL_STATES,
  TRANSITIONS,
  canTransition,
  effectsOfEntering,
  isTaskState,
  type TaskState,
} from "./task-states";

describe("transition table", () => {
  it("names only known states", () => {
    for (const [from, targets] of Object.entries(TRANSITIONS)) {
      expect(isTaskState(from)).toBe(true);
      for (const to of targets) expect(isTaskState(to)).toBe(true);
    }
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...TASK_STATES].sort());
  });

  it("has no self-transitions", () => {
    for (const state of TASK_STATES) expect(canTransition(state, state)).toBe(false);
  });

  it("keeps completed final", () => {
    expect(TRANSITIONS.completed).toEqual([]);
  });

  it("lets every non-terminal state be cancelled (cancel really stops the work)", () => {
    for (const state of TASK_STATES) {
      expect(canTransition(state, "cancelled")).toBe(!TERMINAL_STATES.includes(state));
    }
  });

  it("lets the reaper requeue a lost run", () => {
    expect(canTransition("running", "queued")).toBe(true);
    expect(canTransition("provisioning", "queued")).toBe(true);
  });

  it("allows only queued → provisioning into a claim", () => {
    const into = TASK_STATES.filter((from) => canTransition(from, "provisioning"));
    expect(into).toEqual(["queued"]);
  });
});

describe("actions", () => {
  const expected: Record<string, TaskState[]> = {
    cancel: [
      "pending",
      "waiting_on_deps",
      "queued",
      "provisioning",
      "running",
      "needs_attention",
      "pr_opened",
    ],
    retry: ["failed", "cancelled"],
    resume: ["needs_attention", "failed"],
    "force-restart": ["needs_attention", "pr_opened", "failed", "cancelled"],
    "force-redo": ["needs_attention", "pr_opened", "failed", "cancelled"],
  };

  it.each(TASK_ACTIONS.flatMap((action) => TASK_STATES.map((state) => [action, state] as const)))(
    "%s from %s",
    (action, state) => {
      const accepted = expected[action]!.includes(state);
      const target = actionTarget(action, state, true);
      if (!accepted) {
        expect(target).toBeNull();
        return;
      }
      expect(target).toBe(action === "cancel" ? "cancelled" : "queued");
      if (action !== "cancel") expect(actionTarget(action, state, false)).toBe("waiting_on_deps");
    },
  );

  it("stays inside the transition table", () => {
    for (const action of TASK_ACTIONS) {
      for (const from of ACTION_RULES[action].from) {
        const targets: TaskState[] =
          ACTION_RULES[action].to === "cancelled" ? ["cancelled"] : ["queued", "waiting_on_deps"];
        for (const to of targets) expect([from, to, canTransition(from, to)]).toEqual([from, to, true]);
      }
    }
  });

  it("never revives a completed task", () => {
    for (const action of TASK_ACTIONS) expect(actionTarget(action, "completed", true)).toBeNull();
  });
});

describe("effects of entering a state", () => {
  const now = new Date("2026-01-01T00:00:00Z");
  it("sets startedAt once", () => {
    expect(effectsOfEntering("running", { startedAt: null }, now)).toEqual({ startedAt: now });
    expect(effectsOfEntering("running", { startedAt: new Date(0) }, now)).toEqual({});
  });
  it("closes and reopens the completion time", () => {
    expect(effectsOfEntering("failed", { startedAt: null }, now, "boom")).toEqual({
      completedAt: now,
      errorMessage: "boom",
    });
    expect(effectsOfEntering("queued", { startedAt: now }, now)).toEqual({
      completedAt: null,
      errorMessage: null,
    });
  });
});
