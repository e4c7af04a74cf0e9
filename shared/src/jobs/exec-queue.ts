import { z } from "zod";

/** BullMQ job data for the exec queues: only ids. The record itself lives in the JobStore. */
export const execQueueDataSchema = z.object({ jobId: z.string().min(1), batchId: z.string().min(1).optional() });
export type ExecQueueData = z.infer<typeof execQueueDataSchema>;

/**
 * Options of every exec job. `attempts` only matters for sends that certainly did not reach the provider (the worker
 * throws to retry only then); a command that may have run is never retried.
 */
export function execJobOptions(retry: { attempts: number; backoffMs: number } = { attempts: 5, backoffMs: 1_000 }) {
  return {
    attempts: retry.attempts,
    backoff: { type: "exponential" as const, delay: retry.backoffMs },
    removeOnComplete: true,
    removeOnFail: { age: 3600 },
  };
}
