/**
 * Every Redis key and channel the service uses, in one place. All live under the deployment's prefix (QUEUE_PREFIX),
 * so several installations, or tests, share one Redis without touching each other's keys.
 */
export interface RedisKeys {
  readonly prefix: string;
  /** Hash: the job's record, its status and (in fields `stdout`/`stderr`) its stored output. */
  job(id: string): string;
  /** Sorted set of a wallet's job ids by creation time (ms): the "own jobs" listing. */
  walletJobs(wallet: string): string;
  /** String: job id an idempotency key maps to. */
  idempotency(principalId: string, key: string): string;
  /** Hash: a batch's spec, status and exact counts (c:<status>, inflight). */
  batch(id: string): string;
  /** List: the batch's job ids not yet dispatched, in target order. */
  batchPending(id: string): string;
  /** Sorted set: all of the batch's job ids, scored by target index (listing). */
  batchJobs(id: string): string;
  /** Set: ids dispatched to the queue and not yet confirmed running (re-enqueued by the sweeper after a crash). */
  batchDispatched(id: string): string;
  /** Set: ids of batches still running, for the sweeper. */
  readonly activeBatches: string;
  /** Pub/sub channel: a job id is published when the job reaches a final status. */
  readonly jobFinishedChannel: string;
  /** Pub/sub channel: a job id is published when a client asks to cancel a running job. */
  readonly cancelChannel: string;
}

export function redisKeys(prefix: string): RedisKeys {
  return {
    prefix,
    job: (id) => `${prefix}:job:${id}`,
    walletJobs: (wallet) => `${prefix}:wallet:${wallet}:jobs`,
    idempotency: (principalId, key) => `${prefix}:idem:${principalId}:${key}`,
    batch: (id) => `${prefix}:batch:${id}`,
    batchPending: (id) => `${prefix}:batch:${id}:pending`,
    batchJobs: (id) => `${prefix}:batch:${id}:jobs`,
    batchDispatched: (id) => `${prefix}:batch:${id}:dispatched`,
    activeBatches: `${prefix}:batches:active`,
    jobFinishedChannel: `${prefix}:events:job-finished`,
    cancelChannel: `${prefix}:events:cancel`,
  };
}

/** The BullMQ queue single jobs go through (BullMQ prefixes it with `${prefix}`). */
export const EXEC_QUEUE_NAME = "exec";
/**
 * Batch targets go through their own queue, served by their own worker slots: a 10,000-target batch never stands
 * in front of a single exec.
 */
export const BATCH_QUEUE_NAME = "exec-batch";
