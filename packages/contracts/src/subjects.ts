// Every NATS subject Optio uses is built here: lower-case dot tokens, ids in fixed positions.
// Facts are past tense (optio.task.<id>.created); commands are imperative (optio.run.<id>.cancel).

/** JetStream stream holding lifecycle events for the outside world. */
export const EVENTS_STREAM = "OPTIO_EVENTS";
export const EVENTS_STREAM_SUBJECTS = ["optio.task.>", "optio.repo.>", "optio.secret.>"];

export type EventEntity = "task" | "repo" | "secret";

export const subjects = {
  entityEvent: (entity: EventEntity, id: string, event: string) => `optio.${entity}.${id}.${event}`,
  runnerAnnounce: (runnerId: string) => `optio.runner.${runnerId}.announced`,
  runnerHeartbeat: (runnerId: string) => `optio.runner.${runnerId}.heartbeat`,
  dispatchClaim: () => "optio.dispatch.claim",
  dispatchWakeup: () => "optio.dispatch.wakeup",
  runReport: (runId: string, kind: string) => `optio.run.${runId}.${kind}`,
  runCancel: (runId: string) => `optio.run.${runId}.cancel`,
  /**
   * A person's message for a running agent: a request to the runner holding the run (the run row's
   * runner id), which answers whether the agent's input took it (RunMessageReply).
   */
  runMessage: (runnerId: string, runId: string) => `optio.runner.${runnerId}.run.${runId}.message`,
  /** Broadcast between API replicas: forget the cached identities of a user (core NATS, a hint). */
  authRevoked: () => "optio.auth.revoked",
} as const;
