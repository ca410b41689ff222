import {
  API_NATS_USER,
  natsAuthorizationConfig,
  optioNatsUsers,
  runnerNatsPermissions,
  runnerNatsUser,
} from "./nats-permissions";
import { RUNS_STREAM_SUBJECTS } from "./runs";
import { runnerInboxPrefix, runnerIdOfSubject, subjects } from "./subjects";

/** Whether a NATS subject pattern (`*` one token, `>` the rest) matches a subject. */
function matches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return s.length > i;
    if (i >= s.length || (p[i] !== "*" && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}
const allows = (list: string[], subject: string) => list.some((pattern) => matches(pattern, subject));

const RUN = "7d1f0a52-3c1e-4b8e-9a51-2f1d7a3c9e01";
const password = "p".repeat(32);

describe("runner NATS permissions", () => {
  const { publish, subscribe } = runnerNatsPermissions("r1");

  it("let a runner send its own claims, heartbeats, announces and every kind of report", () => {
    for (const subject of [
      subjects.runnerClaim("r1"),
      subjects.runnerHeartbeat("r1"),
      subjects.runnerAnnounce("r1"),
      ...["started", "log", "heartbeat", "result", "exited"].map((kind) =>
        subjects.runReport("r1", RUN, kind),
      ),
    ])
      expect({ subject, allowed: allows(publish.allow, subject) }).toEqual({ subject, allowed: true });
    // Every report subject it may publish is one the report stream stores.
    for (const pattern of publish.allow.filter((p) => p.includes(".run.")))
      expect(RUNS_STREAM_SUBJECTS.some((s) => matches(s, pattern.replace("r1", "x")))).toBe(true);
  });

  it("refuse another runner's subjects, cancels, wake-ups, events and the JetStream API to publish", () => {
    for (const subject of [
      subjects.runnerClaim("r2"),
      subjects.runnerHeartbeat("r2"),
      subjects.runReport("r2", RUN, "result"),
      subjects.runCancel("r1", RUN),
      subjects.dispatchWakeup(),
      subjects.entityEvent("task", RUN, "created"),
      subjects.authRevoked(),
      "$JS.API.STREAM.CREATE.OPTIO_RUNS",
      "_INBOX.runner.r2.x",
    ])
      expect({ subject, allowed: allows(publish.allow, subject) }).toEqual({ subject, allowed: false });
  });

  it("let it hear only its own cancels, the wake-ups and its own inbox", () => {
    expect(allows(subscribe.allow, subjects.runCancel("r1", RUN))).toBe(true);
    expect(allows(subscribe.allow, subjects.dispatchWakeup())).toBe(true);
    expect(allows(subscribe.allow, `${runnerInboxPrefix("r1")}.abc.1`)).toBe(true);
    for (const subject of [
      ">",
      "_INBOX.>",
      `${runnerInboxPrefix("r2")}.abc.1`,
      subjects.runCancel("r2", RUN),
      subjects.runnerClaim("r2"),
      subjects.runReport("r2", RUN, "log"),
      "optio.task.x.created",
    ])
      expect({ subject, allowed: allows(subscribe.allow, subject) }).toEqual({ subject, allowed: false });
    // No wildcard a server would widen: every pattern is pinned to this runner or to the wake-up.
    expect(subscribe.allow.filter((p) => p.includes(">"))).toEqual([`${runnerInboxPrefix("r1")}.>`]);
  });

  it("reads the runner id of its subjects back", () => {
    expect(runnerIdOfSubject(subjects.runReport("r1", RUN, "log"))).toBe("r1");
    expect(runnerIdOfSubject(subjects.runnerClaim("r-2"))).toBe("r-2");
    expect(runnerIdOfSubject(subjects.dispatchWakeup())).toBeUndefined();
    expect(runnerIdOfSubject("optio.runner.r1")).toBeUndefined();
  });

  it("refuses a runner id that is not one subject token", () => {
    expect(() => runnerNatsPermissions("a.b")).toThrow();
    expect(() => runnerNatsPermissions(">")).toThrow();
    expect(() => runnerNatsUser("Bad")).toThrow();
  });
});

describe("natsAuthorizationConfig", () => {
  it("renders the API without limits and each runner with its lists", () => {
    const text = natsAuthorizationConfig(
      optioNatsUsers({ api: { env: "OPTIO_NATS_API_PASSWORD" }, runners: [{ id: "r1", password }] }),
    );
    expect(text).toContain(`{ user: "${API_NATS_USER}", password: $OPTIO_NATS_API_PASSWORD }`);
    expect(text).toContain(`{ user: "runner-r1", password: "${password}", permissions: {`);
    expect(text).toContain(`publish: { allow: ["optio.runner.r1.announced", `);
    expect(text).toContain(
      `subscribe: { allow: ["optio.runner.r1.run.*.cancel", "optio.runner.r1.run.*.message", "optio.dispatch.wakeup", `,
    );
    expect(text).toContain("allow_responses: true");
    expect(text).not.toContain("no_auth_user");
  });

  it("refuses what could break out of the file's syntax, and duplicate users", () => {
    const render = (pw: string) => () => natsAuthorizationConfig(optioNatsUsers({ api: pw, runners: [] }));
    expect(render(`${password}" }`)).toThrow(/password/);
    expect(render("short")).toThrow(/password/);
    expect(() => natsAuthorizationConfig(optioNatsUsers({ api: { env: "a b" }, runners: [] }))).toThrow();
    expect(() =>
      natsAuthorizationConfig(
        optioNatsUsers({ api: password, runners: [], tools: [{ user: API_NATS_USER, password }] }),
      ),
    ).toThrow(/twice/);
  });
});
