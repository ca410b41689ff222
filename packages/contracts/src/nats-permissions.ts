// Who may publish and subscribe to what on NATS, and the nats-server `authorization` block that
// says so (nats-server 2.9: users with per-subject allow lists). Three kinds of identity:
// - the API (every replica): everything, it is the protocol's other side and the only reader of
//   the streams;
// - one identity per runner id: its own claims, heartbeats, announces and reports; its own cancels
//   and messages for its agents (which it answers), the wake-ups and its own reply inbox; nothing
//   else, so no stream, no `>`, no other runner's inbox (where claim replies carrying secrets
//   arrive) and no JetStream API but the agent sessions' object store (agentSessionsPermissions): a
//   resume on any runner needs the session the task's last run, on any runner, kept;
// - tooling (tests, benchmarks): like the API.
// The chart (deploy/helm) and Compose render the same lists; their tests compare them with these.
import { AGENT_SESSIONS_BUCKET, RunnerId, RunReportKind } from "./runs";
import { runnerInboxPrefix, subjects } from "./subjects";

/**
 * `allowResponses`: the user may answer the requests it receives (nats-server's `allow_responses`:
 * a publish to each request's reply subject, once), as a runner answers a message for its agent.
 */
export type NatsPermissions = {
  publish: { allow: string[] };
  subscribe: { allow: string[] };
  allowResponses?: boolean;
};

/** The API replicas' NATS user. */
export const API_NATS_USER = "optio-api";

/** The NATS user of a runner id. */
export const runnerNatsUser = (runnerId: string) => `runner-${RunnerId.parse(runnerId)}`;

/**
 * The JetStream API of the agent sessions' object store alone, as the nats.js object store client
 * uses it: the stream's info and creation, puts (chunks and metadata), the purge of a replaced
 * object's chunks, gets (last message by subject; an ordered consumer, with its flow control).
 */
export function agentSessionsPermissions(): string[] {
  const stream = `OBJ_${AGENT_SESSIONS_BUCKET}`;
  return [
    "$JS.API.INFO", // the account's JetStream limits, read when the store is opened
    `$JS.API.STREAM.INFO.${stream}`,
    `$JS.API.STREAM.CREATE.${stream}`,
    `$JS.API.STREAM.PURGE.${stream}`,
    `$JS.API.STREAM.MSG.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}.>`,
    `$JS.API.CONSUMER.CREATE.${stream}`,
    `$JS.API.CONSUMER.CREATE.${stream}.>`,
    `$JS.API.CONSUMER.DELETE.${stream}.>`,
    `$O.${AGENT_SESSIONS_BUCKET}.>`,
    "$JS.FC.>",
  ];
}

/** What a runner's identity may do: its own subjects only (see subjects.ts for who uses what). */
export function runnerNatsPermissions(runnerId: string): NatsPermissions {
  const id = RunnerId.parse(runnerId);
  return {
    publish: {
      allow: [
        subjects.runnerAnnounce(id),
        subjects.runnerHeartbeat(id),
        subjects.runnerClaim(id),
        ...RunReportKind.options.map((kind) => subjects.runReport(id, "*", kind)),
        ...agentSessionsPermissions(),
      ],
    },
    subscribe: {
      allow: [
        subjects.runCancel(id, "*"),
        subjects.runMessage(id, "*"),
        subjects.dispatchWakeup(),
        `${runnerInboxPrefix(id)}.>`,
      ],
    },
    allowResponses: true,
  };
}

/** A password in the server config: the value itself, or an environment variable of the server's. */
export type NatsPassword = string | { env: string };

export type NatsUser = { user: string; password: NatsPassword; permissions?: NatsPermissions };

/** The API, a runner per id, and any tooling users, as `natsAuthorizationConfig` takes them. */
export function optioNatsUsers(options: {
  api: NatsPassword;
  runners: { id: string; password: NatsPassword }[];
  /** Users with the API's rights (tests, benchmarks). */
  tools?: { user: string; password: NatsPassword }[];
}): NatsUser[] {
  return [
    { user: API_NATS_USER, password: options.api },
    ...(options.tools ?? []),
    ...options.runners.map((runner) => ({
      user: runnerNatsUser(runner.id),
      password: runner.password,
      permissions: runnerNatsPermissions(runner.id),
    })),
  ];
}

const SAFE_USER = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
// Generated passwords are base64url or hex; anything else could break out of the quoted string.
const SAFE_PASSWORD = /^[A-Za-z0-9_~+/=.-]{16,256}$/;
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

function password(value: NatsPassword, user: string): string {
  if (typeof value !== "string") {
    if (!ENV_NAME.test(value.env)) throw new Error(`${user}: not an environment variable name: ${value.env}`);
    return `$${value.env}`;
  }
  if (!SAFE_PASSWORD.test(value)) throw new Error(`${user}: a password must be 16+ of [A-Za-z0-9_~+/=.-]`);
  return JSON.stringify(value);
}

const list = (subjectList: string[]) => `[${subjectList.map((s) => JSON.stringify(s)).join(", ")}]`;

/**
 * The `authorization { users = […] }` block for nats-server, to `include` from its config. Users
 * without `permissions` may do everything; there is no anonymous user (`no_auth_user`), so a
 * connection without credentials is refused ('Authorization Violation').
 */
export function natsAuthorizationConfig(users: NatsUser[]): string {
  const seen = new Set<string>();
  const lines = users.map(({ user, password: pw, permissions }) => {
    if (!SAFE_USER.test(user)) throw new Error(`not a NATS user name: ${user}`);
    if (seen.has(user)) throw new Error(`NATS user ${user} listed twice`);
    seen.add(user);
    const head = `    { user: ${JSON.stringify(user)}, password: ${password(pw, user)}`;
    if (!permissions) return `${head} }`;
    return [
      `${head}, permissions: {`,
      `        publish: { allow: ${list(permissions.publish.allow)} }`,
      `        subscribe: { allow: ${list(permissions.subscribe.allow)} }`,
      ...(permissions.allowResponses ? [`        allow_responses: true`] : []),
      `    } }`,
    ].join("\n");
  });
  return ["authorization {", "  users = [", ...lines, "  ]", "}", ""].join("\n");
}
