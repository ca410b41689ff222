import { z } from "zod";

export const Id = z.uuid();
export const IdParams = z.object({ id: z.uuid() });

/** Offset pagination shared by list endpoints. */
export const Pagination = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});
export type Pagination = z.infer<typeof Pagination>;

export const Timestamp = z.iso.datetime({ offset: true });

/** Money is a decimal string (no float rounding), as in the reference. */
export const Money = z.string().regex(/^\d+(\.\d+)?$/);
