// `task wait` and `task new --wait`: follows one task over the live event stream until a state the
// caller is waiting for, and turns that state into an exit code. Not a polling loop: one GET after
// the stream is open (so nothing between the two is missed), then events only.
import {
  EventEnvelope,
  TaskLogEntry,
  TaskLogsResponse,
  TaskResponse,
  type TaskState,
} from "@optio/contracts";
import { CliError, ExitCode } from "./exit-codes";
import type { OptioClient } from "./http-client";
import type { Output } from "./output";
import { Progress } from "./progress";
import { openEventStream, type EventStream } from "./event-stream";

export type Until = "done" | "merged";
export type WaitOptions = { timeoutMs?: number; until: Until; follow: boolean };
export type WaitResult = { exitCode: ExitCode; state: TaskState | null; timedOut: boolean };

/** The exit code a state ends the wait with, or null to keep waiting. */
export function exitCodeFor(state: TaskState, until: Until): ExitCode | null {
  switch (state) {
    case "completed":
      return ExitCode.ok;
    case "pr_opened":
      return until === "merged" ? null : ExitCode.ok;
    case "failed":
      return ExitCode.failed;
    case "cancelled":
      return ExitCode.cancelled;
    case "needs_attention":
      return ExitCode.needsAttention;
    default:
      return null;
  }
}

export function waitForTask(
  client: OptioClient,
  out: Output,
  taskId: string,
  options: WaitOptions,
): Promise<WaitResult> {
  return new Promise<WaitResult>((resolve, reject) => {
    const progress = new Progress(out, taskId, options.follow);
    const streams: EventStream[] = [];
    let settled = false;
    let state: TaskState | null = null;
    let version = -1;
    let lastLogId: string | undefined;

    const settle = async (outcome: WaitResult | CliError) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      for (const stream of streams) stream.close();
      // Log lines committed just before the final state may not have been streamed yet.
      if (options.follow && !(outcome instanceof CliError) && !outcome.timedOut)
        await printRemainingLogs().catch(() => {});
      progress.stop();
      if (outcome instanceof CliError) reject(outcome);
      else resolve(outcome);
    };

    const apply = (next: TaskState, nextVersion: number, run?: string) => {
      if (settled || nextVersion <= version) return; // ended, or older than what the GET showed
      version = nextVersion;
      state = next;
      progress.setState(next, run);
      const code = exitCodeFor(next, options.until);
      if (code !== null) void settle({ exitCode: code, state: next, timedOut: false });
    };

    const showLog = (entry: TaskLogEntry) => {
      lastLogId = entry.id;
      progress.log(entry.content);
    };

    const printRemainingLogs = async () => {
      for (;;) {
        const page = await client.request(TaskLogsResponse, "GET", `/api/tasks/${taskId}/logs`, {
          query: { after: lastLogId, limit: 1000 },
        });
        page.logs.forEach(showLog);
        if (!page.nextCursor || page.logs.length === 0) return;
      }
    };

    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            progress.note(
              `timed out after ${Math.round(options.timeoutMs! / 1000)} s in state ${state ?? "unknown"}`,
            );
            void settle({ exitCode: ExitCode.timeout, state, timedOut: true });
          }, options.timeoutMs);

    const events = openEventStream(client, "/api/events/stream", { taskId }, ["event"], {
      onEvent: (_type, data) => {
        const envelope = EventEnvelope.safeParse(data);
        if (!envelope.success || envelope.data.type !== "task.state_changed") return;
        const { toState, stateVersion, runId } = envelope.data.data as {
          toState: TaskState;
          stateVersion: number;
          runId?: string | null;
        };
        apply(toState, stateVersion, runId ? runId.slice(0, 8) : undefined);
      },
      onOpen: (reconnected) => {
        if (reconnected) progress.note("event stream reconnected; resuming after the last event seen");
      },
      onDrop: (message) => progress.note(`event stream dropped (${message}); reconnecting`),
      onFatal: (error) => void settle(error),
    });
    streams.push(events);

    void events.opened
      .then(() => client.request(TaskResponse, "GET", `/api/tasks/${taskId}`))
      .then(({ task }) => {
        apply(task.state, task.stateVersion, task.latestRun?.id.slice(0, 8));
        if (settled || !(options.follow || out.live)) return;
        streams.push(
          openEventStream(client, `/api/tasks/${taskId}/logs/stream`, {}, ["log"], {
            onEvent: (_type, data) => {
              const entry = TaskLogEntry.safeParse(data);
              if (entry.success) showLog(entry.data);
            },
            // Logs are a convenience: the wait goes on without them.
            onFatal: (error) => progress.note(`log stream: ${error.message}`),
          }),
        );
      })
      .catch(
        (error: unknown) =>
          void settle(error instanceof CliError ? error : new CliError(ExitCode.failed, String(error))),
      );
  });
}
