import { z } from "zod";

/** BullMQ job data for the exec queue: only the id. The record itself lives in the JobStore. */
export const execQueueDataSchema = z.object({ jobId: z.string().min(1) });
export type ExecQueueData = z.infer<typeof execQueueDataSchema>;
