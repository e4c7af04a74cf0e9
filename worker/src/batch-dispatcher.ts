import type { Queue } from "bullmq";
import type { BatchStore } from "@shell-exec/shared/batches/batch-store.ts";
import type { ExecQueueData } from "@shell-exec/shared/jobs/exec-queue.ts";
import type { JobStore } from "@shell-exec/shared/jobs/job-store.ts";
import type { Logger } from "@shell-exec/shared/logger.ts";

/**
 * Moves batch targets into the batch queue as slots free up. The dispatch script decides (atomically, fleet-wide)
 * which targets may start; this only enqueues them. BullMQ's job id is the target's job id, so enqueueing the same
 * target twice is a no-op: that is what makes the sweeper's re-enqueue after a crash safe.
 */
export class BatchDispatcher {
  readonly #batches: BatchStore;
  readonly #jobs: JobStore;
  readonly #queue: Queue<ExecQueueData>;
  readonly #logger: Logger;

  constructor(deps: { batches: BatchStore; jobs: JobStore; queue: Queue<ExecQueueData>; logger: Logger }) {
    this.#batches = deps.batches;
    this.#jobs = deps.jobs;
    this.#queue = deps.queue;
    this.#logger = deps.logger;
  }

  async dispatch(batchId: string): Promise<number> {
    const ids = await this.#batches.dispatch(batchId);
    await this.#enqueue(batchId, ids);
    return ids.length;
  }

  /**
   * For every running batch: fill free slots, and enqueue again targets that were dispatched but are still queued
   * with no queue entry (a process died between dispatch and enqueue). Cheap: O(active batches × concurrency).
   */
  async sweep(): Promise<void> {
    for (const batchId of await this.#batches.activeBatchIds()) {
      const dispatched = await this.#batches.dispatchedIds(batchId);
      if (dispatched.length > 0) {
        const records = await this.#jobs.getMany(dispatched);
        const settled = dispatched.filter((_, i) => records[i]?.status !== "queued");
        await this.#batches.forgetDispatched(batchId, settled);
        const stranded: string[] = [];
        for (const id of dispatched.filter((_, i) => records[i]?.status === "queued")) {
          if (!(await this.#queue.getJob(id))) stranded.push(id);
        }
        if (stranded.length > 0) {
          this.#logger.warn({ batchId, count: stranded.length }, "re-enqueueing dispatched batch targets with no queue entry");
          await this.#enqueue(batchId, stranded);
        }
      }
      await this.dispatch(batchId);
    }
  }

  async #enqueue(batchId: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.#queue.addBulk(ids.map((jobId) => ({ name: "exec", data: { jobId, batchId }, opts: { jobId } })));
  }
}
