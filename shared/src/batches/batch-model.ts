import { z } from "zod";

export const BATCH_STATUSES = ["running", "completed", "stopped", "canceled"] as const;
export const batchStatusSchema = z.enum(BATCH_STATUSES);
export type BatchStatus = z.infer<typeof batchStatusSchema>;

export const BATCH_COUNT_STATUSES = ["queued", "running", "succeeded", "failed", "timed_out", "canceled", "error", "skipped"] as const;
export type BatchCounts = Record<(typeof BATCH_COUNT_STATUSES)[number], number>;

export const batchSpecSchema = z.object({
  id: z.string(),
  principalId: z.string(),
  wallet: z.string(),
  /** Targets accepted (jobs created); rejected targets are not counted. */
  total: z.number().int(),
  concurrency: z.number().int().min(1),
  /** As the client gave it: a count or a percentage string. */
  maxErrorsInput: z.union([z.number().int(), z.string()]).nullable(),
  /** The budget as a count: once more targets than this end in anything but `succeeded`, no more start. */
  maxErrors: z.number().int(),
  createdAt: z.string(),
});
export type BatchSpec = z.infer<typeof batchSpecSchema>;

export interface BatchRecord extends BatchSpec {
  status: BatchStatus;
  finishedAt: string | null;
  counts: BatchCounts;
  inflight: number;
}

/** `maxErrors` as a count: a number as given, or a percentage of the total rounded down ("10%" of 25 → 2). */
export function resolveMaxErrors(input: number | string | null | undefined, total: number): number {
  if (input === null || input === undefined) return total;
  if (typeof input === "number") return input;
  const percent = Number(input.slice(0, -1));
  return Math.floor((total * percent) / 100);
}
