import type { Redis } from "ioredis";
import { z } from "zod";
import { jobHashFields } from "../jobs/job-store.ts";
import type { JobSpec } from "../jobs/job-model.ts";
import type { RedisKeys } from "../redis/keys.ts";
import { assertPipelineSucceeded } from "../redis/pipeline.ts";
import { BATCH_COUNT_STATUSES, batchSpecSchema, batchStatusSchema, type BatchCounts, type BatchRecord, type BatchSpec } from "./batch-model.ts";

/**
 * Hands out the batch's next targets while fewer than `concurrency` are in flight fleet-wide and the error budget
 * holds. Once the budget is exceeded the batch is `stopped` and every target not yet dispatched ends `skipped`.
 * When nothing is pending, queued or running any more, the batch gets its finishedAt and its id is published.
 * Called after the batch is stored, after each of its jobs ends, and by the sweeper: it is idempotent.
 */
const DISPATCH = `
local b, pending, dispatched, active = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, jobPrefix, channel, batchId, skipError = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local status = redis.call('HGET', b, 'status')
if not status then return {} end
local function n(field) return tonumber(redis.call('HGET', b, field) or '0') end
local out = {}
if status == 'running' then
  local errors = n('c:failed') + n('c:timed_out') + n('c:canceled') + n('c:error')
  if errors > n('maxErrors') then
    status = 'stopped'
    redis.call('HSET', b, 'status', 'stopped')
    local ids = redis.call('LRANGE', pending, 0, -1)
    for _, id in ipairs(ids) do
      local jk = jobPrefix .. id
      if redis.call('HGET', jk, 'status') == 'queued' then
        redis.call('HSET', jk, 'status', 'skipped', 'finishedAt', now, 'error', skipError)
        redis.call('HDEL', jk, 'secrets')
        redis.call('HINCRBY', b, 'c:queued', -1)
        redis.call('HINCRBY', b, 'c:skipped', 1)
        redis.call('PUBLISH', channel, id)
      end
    end
    redis.call('DEL', pending)
  else
    local free = n('concurrency') - n('inflight')
    while free > 0 do
      local id = redis.call('LPOP', pending)
      if not id then break end
      local jk = jobPrefix .. id
      if redis.call('HGET', jk, 'status') == 'queued' then
        redis.call('HSET', jk, 'dispatched', '1')
        redis.call('HINCRBY', b, 'inflight', 1)
        redis.call('SADD', dispatched, id)
        table.insert(out, id)
        free = free - 1
      end
    end
  end
end
if redis.call('LLEN', pending) == 0 and n('c:queued') == 0 and n('c:running') == 0 and not redis.call('HGET', b, 'finishedAt') then
  if status == 'running' then redis.call('HSET', b, 'status', 'completed') end
  redis.call('HSET', b, 'finishedAt', now)
  redis.call('SREM', active, batchId)
  redis.call('DEL', dispatched)
  redis.call('PUBLISH', channel, batchId)
end
return out`;

/**
 * Cancels a batch: targets not yet dispatched end `canceled` at once; the ids of dispatched ones still queued or
 * running are returned so the caller cancels each as a single job (which wakes the worker holding it).
 */
const CANCEL = `
local b, pending = KEYS[1], KEYS[2]
local now, jobPrefix, channel, cancelError = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local status = redis.call('HGET', b, 'status')
if not status then return {'missing'} end
if redis.call('HGET', b, 'finishedAt') then return {'finished', status} end
redis.call('HSET', b, 'status', 'canceled')
local ids = redis.call('LRANGE', pending, 0, -1)
for _, id in ipairs(ids) do
  local jk = jobPrefix .. id
  if redis.call('HGET', jk, 'status') == 'queued' then
    redis.call('HSET', jk, 'status', 'canceled', 'finishedAt', now, 'error', cancelError)
    redis.call('HDEL', jk, 'secrets')
    redis.call('HINCRBY', b, 'c:queued', -1)
    redis.call('HINCRBY', b, 'c:canceled', 1)
    redis.call('PUBLISH', channel, id)
  end
end
redis.call('DEL', pending)
local live = redis.call('SMEMBERS', KEYS[3])
local out = {'canceled'}
for _, id in ipairs(live) do table.insert(out, id) end
return out`;

export interface NewBatchJob {
  spec: JobSpec;
  sealedSecrets: string | null;
}

const WRITE_CHUNK = 500;

export class BatchStore {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;
  readonly #retentionSeconds: number;

  constructor(deps: { redis: Redis; keys: RedisKeys; retentionSeconds: number }) {
    this.#redis = deps.redis;
    this.#keys = deps.keys;
    this.#retentionSeconds = deps.retentionSeconds;
  }

  /**
   * Stores the batch and all its jobs in O(n) pipelined writes. The pending list is written last, so a batch whose
   * write broke off half-way never dispatches anything (and its keys expire).
   */
  async create(spec: BatchSpec, jobs: readonly NewBatchJob[]): Promise<void> {
    const ttl = this.#retentionSeconds;
    const batchKey = this.#keys.batch(spec.id);
    for (let start = 0; start < jobs.length; start += WRITE_CHUNK) {
      const pipeline = this.#redis.pipeline();
      jobs.slice(start, start + WRITE_CHUNK).forEach((job, offset) => {
        const key = this.#keys.job(job.spec.id);
        pipeline.hset(key, jobHashFields(job.spec, { sealedSecrets: job.sealedSecrets, counters: batchKey }));
        pipeline.expire(key, ttl);
        pipeline.zadd(this.#keys.walletJobs(job.spec.wallet), Date.parse(job.spec.createdAt), job.spec.id);
        pipeline.zadd(this.#keys.batchJobs(spec.id), start + offset, job.spec.id);
      });
      assertPipelineSucceeded(await pipeline.exec());
    }
    const counts: Record<string, string> = Object.fromEntries(BATCH_COUNT_STATUSES.map((status) => [`c:${status}`, "0"]));
    counts["c:queued"] = String(jobs.length);
    const final = this.#redis.pipeline();
    final.hset(batchKey, {
      spec: JSON.stringify(spec),
      status: "running",
      concurrency: String(spec.concurrency),
      maxErrors: String(spec.maxErrors),
      inflight: "0",
      ...counts,
    });
    final.expire(batchKey, ttl);
    final.expire(this.#keys.batchJobs(spec.id), ttl);
    final.expire(this.#keys.walletJobs(spec.wallet), ttl);
    for (let start = 0; start < jobs.length; start += WRITE_CHUNK) {
      final.rpush(this.#keys.batchPending(spec.id), ...jobs.slice(start, start + WRITE_CHUNK).map((job) => job.spec.id));
    }
    final.expire(this.#keys.batchPending(spec.id), ttl);
    final.sadd(this.#keys.activeBatches, spec.id);
    assertPipelineSucceeded(await final.exec());
  }

  /** Ids to enqueue now (see DISPATCH). */
  async dispatch(batchId: string, now = new Date()): Promise<string[]> {
    const result = await this.#redis.eval(
      DISPATCH,
      4,
      this.#keys.batch(batchId),
      this.#keys.batchPending(batchId),
      this.#keys.batchDispatched(batchId),
      this.#keys.activeBatches,
      now.toISOString(),
      this.#keys.job(""),
      this.#keys.jobFinishedChannel,
      batchId,
      JSON.stringify({ code: "SKIPPED", message: "Not started: the batch's error budget (maxErrors) was exceeded.", commandMayHaveRun: false }),
    );
    return z.array(z.string()).parse(result);
  }

  async cancel(batchId: string, now = new Date()): Promise<{ outcome: "canceled"; liveJobIds: string[] } | { outcome: "missing" } | { outcome: "finished"; status: string }> {
    const result = z.array(z.string()).parse(
      await this.#redis.eval(
        CANCEL,
        3,
        this.#keys.batch(batchId),
        this.#keys.batchPending(batchId),
        this.#keys.batchDispatched(batchId),
        now.toISOString(),
        this.#keys.job(""),
        this.#keys.jobFinishedChannel,
        JSON.stringify({ code: "CANCELED", message: "Canceled with its batch before it started.", commandMayHaveRun: false }),
      ),
    );
    if (result[0] === "missing") return { outcome: "missing" };
    if (result[0] === "finished") return { outcome: "finished", status: result[1] ?? "" };
    return { outcome: "canceled", liveJobIds: result.slice(1) };
  }

  async get(batchId: string): Promise<BatchRecord | null> {
    const hash = await this.#redis.hgetall(this.#keys.batch(batchId));
    if (!hash.spec || !hash.status) return null;
    const counts = Object.fromEntries(BATCH_COUNT_STATUSES.map((status) => [status, Number(hash[`c:${status}`] ?? 0)])) as BatchCounts;
    return {
      ...batchSpecSchema.parse(JSON.parse(hash.spec)),
      status: batchStatusSchema.parse(hash.status),
      finishedAt: hash.finishedAt ?? null,
      counts,
      inflight: Number(hash.inflight ?? 0),
    };
  }

  /** Job ids in target order from `offset`. */
  async jobIds(batchId: string, offset: number, count: number): Promise<string[]> {
    return this.#redis.zrange(this.#keys.batchJobs(batchId), String(offset), String(offset + count - 1));
  }

  async activeBatchIds(): Promise<string[]> {
    return this.#redis.smembers(this.#keys.activeBatches);
  }

  /** Dispatched ids still queued: after a crash between dispatch and enqueue, the sweeper enqueues them again. */
  async dispatchedIds(batchId: string): Promise<string[]> {
    return this.#redis.smembers(this.#keys.batchDispatched(batchId));
  }

  async forgetDispatched(batchId: string, ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.#redis.srem(this.#keys.batchDispatched(batchId), ...ids);
  }
}
