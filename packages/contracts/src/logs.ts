import { z } from "zod";
import { LogStream, LogType } from "./runs";

/** One stored log line of a run. `id` is the cursor: increasing in commit order within a task. */
export const TaskLogEntry = z.object({
  id: z.string(),
  runId: z.uuid(),
  attempt: z.number().int(),
  seq: z.number().int(),
  stream: LogStream,
  type: LogType,
  content: z.string(),
  data: z.record(z.string(), z.unknown()).nullable(),
  time: z.iso.datetime({ offset: true }),
});
export type TaskLogEntry = z.infer<typeof TaskLogEntry>;

const Cursor = z.string().regex(/^\d{1,19}$/, "must be a log cursor (the id of a log line)");

export const TaskLogsQuery = z.object({
  runId: z.uuid().optional(),
  attempt: z.coerce.number().int().min(1).optional(),
  after: Cursor.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
  search: z.string().min(1).max(200).optional(),
  type: z
    .union([LogType, z.array(LogType)])
    .transform((value) => (Array.isArray(value) ? value : [value]))
    .optional(),
});
export type TaskLogsQuery = z.output<typeof TaskLogsQuery>;

export const TaskLogsResponse = z.object({
  logs: z.array(TaskLogEntry),
  /** Pass as `after` to read on; null when this page reached the end. */
  nextCursor: z.string().nullable(),
});

export const TaskLogStreamQuery = TaskLogsQuery.pick({ runId: true, after: true, search: true, type: true });

export const EventStreamQuery = z.object({
  taskId: z.uuid().optional(),
  /** Resume after this stream sequence (same as the Last-Event-ID header). */
  after: z.coerce.number().int().min(0).optional(),
});
