import { canTransition, TASK_STATES } from "./task-states";
import { MESSAGE_RESUME, planMessage, promptWithMessages } from "./task-messages";

describe("planMessage", () => {
  it.each([
    ["running", "claude", "live"],
    ["provisioning", "codex", "live"],
    ["needs_attention", "claude", "resume"],
    ["failed", "codex", "resume"],
    ["pr_opened", "claude", "resume"],
    ["cancelled", "claude", "resume"],
    ["needs_attention", "shell", "keep"],
    ["queued", "claude", "keep"],
    ["pending", "claude", "keep"],
    ["waiting_on_deps", "claude", "keep"],
    ["completed", "claude", "refuse"],
  ] as const)("%s %s → %s", (state, agent, plan) => {
    expect(planMessage(state, agent)).toBe(plan);
  });

  it("resumes only from states that may be requeued", () => {
    for (const state of MESSAGE_RESUME.from) expect(canTransition(state, "queued")).toBe(true);
    expect(TASK_STATES.filter((state) => planMessage(state, "claude") === "resume")).toEqual(
      [...MESSAGE_RESUME.from].sort((a, b) => TASK_STATES.indexOf(a) - TASK_STATES.indexOf(b)),
    );
  });
});

describe("promptWithMessages", () => {
  const at = (minute: number) => new Date(Date.UTC(2026, 11, 8, 10, minute));
  const m1 = { content: "Use tabs", author: "ada@example.com", createdAt: at(0) };
  const m2 = { content: "And no semicolons", author: null, createdAt: at(5) };

  it("puts the messages before the prompt, newest first, each in a block of its own", () => {
    expect(promptWithMessages("Fix the build", [m1, m2])).toBe(
      [
        "[Message from the user at 2026-12-08T10:05:00.000Z, sent while you were not running]",
        "And no semicolons",
        "[End of message]",
        "",
        "[Message from ada@example.com at 2026-12-08T10:00:00.000Z, sent while you were not running]",
        "Use tabs",
        "[End of message]",
        "",
        "Fix the build",
      ].join("\n"),
    );
    expect(promptWithMessages("Fix the build", [])).toBe("Fix the build");
  });

  it("reads the same folded one at a time as all at once", () => {
    expect(promptWithMessages(promptWithMessages("p", [m1]), [m2])).toBe(promptWithMessages("p", [m2, m1]));
  });

  it("gives a shell script comment lines, so it still runs", () => {
    const script = promptWithMessages("echo hi", [{ ...m1, content: "line 1\nline 2" }], {
      asComments: true,
    });
    expect(
      script
        .split("\n")
        .slice(0, -1)
        .every((line) => line.startsWith("#")),
    ).toBe(true);
    expect(script.endsWith("\necho hi")).toBe(true);
    expect(script).toContain("# line 2");
  });
});
