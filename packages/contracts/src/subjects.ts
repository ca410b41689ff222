// Every NATS subject Optio uses is built here: lower-case dot tokens, ids in fixed positions.
// Facts are past tense (optio.task.<id>.created); commands are imperative (…run.<id>.cancel).
//
// Everything a runner sends or receives sits under `optio.runner.<runnerId>.`, so NATS permissions
// can hold each runner to its own subjects (nats-permissions.ts); the API checks that the runner id
// in a message's subject is the one in its payload. Who uses what:
//   optio.runner.<id>.announced             runner → API      (publish; API queue group)
//   optio.runner.<id>.heartbeat             runner → API      (request; the reply may stop runs)
//   optio.runner.<id>.claim                 runner → API      (request; the reply carries run specs)
//   optio.runner.<id>.run.<runId>.<kind>    runner → API      (JetStream OPTIO_RUNS: run reports)
//   optio.runner.<id>.run.<runId>.cancel    API → that runner (core NATS, a hint)
//   optio.dispatch.wakeup                   API → all runners (core NATS, a hint carrying no ids)
//   optio.<entity>.<id>.<event>             API → the world   (JetStream OPTIO_EVENTS)
//   optio.auth.revoked, optio.hint.…        API ↔ API         (core NATS)
// Replies to a runner's requests go to its own inbox prefix (runnerInboxPrefix).

/** JetStream stream holding lifecycle events for the outside world. */
export const EVENTS_STREAM = "OPTIO_EVENTS";
export const EVENTS_STREAM_SUBJECTS = ["optio.task.>", "optio.repo.>", "optio.secret.>"];

export type EventEntity = "task" | "repo" | "secret";

export const subjects = {
  entityEvent: (entity: EventEntity, id: string, event: string) => `optio.${entity}.${id}.${event}`,
  runnerAnnounce: (runnerId: string) => `optio.runner.${runnerId}.announced`,
  runnerHeartbeat: (runnerId: string) => `optio.runner.${runnerId}.heartbeat`,
  /** A runner's claim request; API replicas answer `runnerClaim("*")` in one queue group. */
  runnerClaim: (runnerId: string) => `optio.runner.${runnerId}.claim`,
  dispatchWakeup: () => "optio.dispatch.wakeup",
  runReport: (runnerId: string, runId: string, kind: string) =>
    `optio.runner.${runnerId}.run.${runId}.${kind}`,
  /** A cancel goes to the runner holding the run (the run row's runner id). */
  runCancel: (runnerId: string, runId: string) => `optio.runner.${runnerId}.run.${runId}.cancel`,
  /**
   * A person's message for a running agent: a request to the runner holding the run (the run row's
   * runner id), which answers whether the agent's input took it (RunMessageReply).
   */
  runMessage: (runnerId: string, runId: string) => `optio.runner.${runnerId}.run.${runId}.message`,
  /** Broadcast between API replicas: forget the cached identities of a user (core NATS, a hint). */
  authRevoked: () => "optio.auth.revoked",
} as const;

/** The runner id in a runner subject (`optio.runner.<id>.…`), or undefined for any other subject. */
export function runnerIdOfSubject(subject: string): string | undefined {
  const tokens = subject.split(".");
  return tokens[0] === "optio" && tokens[1] === "runner" && tokens.length > 3 ? tokens[2] : undefined;
}

/**
 * The inbox prefix a runner's connection uses (the client's `inboxPrefix`): replies to its claims
 * and heartbeats, and JetStream's acks of its reports, arrive under it, and only that runner (and
 * the API) may subscribe there. A claim reply carries secrets.
 */
export const runnerInboxPrefix = (runnerId: string) => `_INBOX.runner.${runnerId}`;
