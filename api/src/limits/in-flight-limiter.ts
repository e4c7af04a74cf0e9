import type { Redis } from "ioredis";
import { z } from "zod";
import { FINAL_STATUSES } from "@shell-exec/shared/jobs/job-model.ts";
import { RateLimitedError } from "./rate-limited-error.ts";

/**
 * The in-flight set of a principal: ids of its jobs that are queued or running. The API adds an id when it accepts a
 * job (acquire); the job store removes it in the same script that ends the job, because the job's hash names this
 * set in its `activeSet` field (JobStore.create(spec, { activeSet })).
 */
export function inFlightJobsKey(prefix: string, principalId: string): string {
  return `${prefix}:inflight:${principalId}`;
}

/** Marks an id acquired moments ago whose job hash may not be written yet, so a sweep does not drop it. */
function pendingKey(prefix: string, jobId: string): string {
  return `${prefix}:inflight-pending:${jobId}`;
}

// KEYS[1] set, KEYS[2] pending marker; ARGV: job id, cap, pending seconds, set lifetime seconds.
const ACQUIRE = `
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return {1, redis.call('SCARD', KEYS[1])} end
local n = redis.call('SCARD', KEYS[1])
if n >= tonumber(ARGV[2]) then return {0, n} end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('SET', KEYS[2], '1', 'EX', ARGV[3])
return {1, n + 1}`;

// KEYS[1] set, then pairs (job hash, pending marker) per id; ARGV: the ids, then the final statuses after ARGV[1] = count.
// Re-checks each id inside the script, so an id whose job started existing meanwhile is kept.
const SWEEP = `
local count = tonumber(ARGV[1])
local final = {}
for i = count + 2, #ARGV do final[ARGV[i]] = true end
local removed = 0
for i = 1, count do
  local id = ARGV[i + 1]
  local status = redis.call('HGET', KEYS[2 * i], 'status')
  local stale
  if status then stale = final[status] == true else stale = redis.call('EXISTS', KEYS[2 * i + 1]) == 0 end
  if stale then removed = removed + redis.call('SREM', KEYS[1], id) end
end
return removed`;

const acquireReplySchema = z.tuple([z.number(), z.number()]);

export interface InFlightLimiterDeps {
  redis: Redis;
  prefix: string;
  /** The job store's key of a job hash: `redisKeys(prefix).job`. */
  jobKey: (jobId: string) => string;
  /** Jobs queued or running per principal. 0 turns the cap off (ids are still tracked). */
  maxInFlight: number;
  overrides?: Readonly<Record<string, number>>;
  /** Job retention (RESULT_RETENTION_SECONDS): a set untouched that long holds only expired jobs and may go. */
  retentionSeconds: number;
  /** How long an acquired id counts without its job hash (covers acquire → store.create). Default 60. */
  pendingSeconds?: number;
  /** At most one sweep per principal this often, when at the cap. Default 5. */
  sweepIntervalSeconds?: number;
  /** The Retry-After for a full set: when a job ends is unknowable, so this is a polling hint. Default 2. */
  retryAfterSeconds?: number;
}

/**
 * Caps each principal's jobs in flight. Counting is exact while every job ends through the job store; a sweep drops
 * ids whose job hash is gone or final (a crash between accept and store, a job created without `activeSet`), so
 * capacity is never leaked for good. The sweep runs when a principal hits its cap (at most every few seconds) and
 * can also be run on a timer.
 */
export class InFlightLimiter {
  readonly #deps: InFlightLimiterDeps & { pendingSeconds: number; sweepIntervalSeconds: number; retryAfterSeconds: number };

  constructor(deps: InFlightLimiterDeps) {
    this.#deps = { pendingSeconds: 60, sweepIntervalSeconds: 5, retryAfterSeconds: 2, ...deps };
  }

  key(principalId: string): string {
    return inFlightJobsKey(this.#deps.prefix, principalId);
  }

  #capFor(principalId: string): number {
    return this.#deps.overrides?.[principalId] ?? this.#deps.maxInFlight;
  }

  /**
   * Counts `jobId` against the principal, or throws RateLimitedError (429) when the principal is at its cap even
   * after dropping stale ids. Call before storing the job, pass `key(principalId)` as the job's `activeSet`, and
   * release() if the job is then not stored.
   */
  async acquire(principalId: string, jobId: string): Promise<{ inFlight: number }> {
    const cap = this.#capFor(principalId);
    const limit = cap > 0 ? cap : Number.MAX_SAFE_INTEGER;
    let [ok, inFlight] = await this.#tryAcquire(principalId, jobId, limit);
    if (!ok && (await this.#sweepDue(principalId))) {
      await this.sweep(principalId);
      [ok, inFlight] = await this.#tryAcquire(principalId, jobId, limit);
    }
    if (!ok) throw new RateLimitedError({ limit: "jobs-in-flight", retryAfterMs: this.#deps.retryAfterSeconds * 1000, maxInFlight: cap });
    return { inFlight };
  }

  /** Undoes acquire() for a job that was not stored after all. */
  async release(principalId: string, jobId: string): Promise<void> {
    await this.#deps.redis.multi().srem(this.key(principalId), jobId).del(pendingKey(this.#deps.prefix, jobId)).exec();
  }

  async count(principalId: string): Promise<number> {
    return this.#deps.redis.scard(this.key(principalId));
  }

  /** Drops ids whose job no longer exists (and is not just being created) or has ended. Returns how many. */
  async sweep(principalId: string): Promise<number> {
    const { redis, prefix, jobKey } = this.#deps;
    const setKey = this.key(principalId);
    let cursor = "0";
    let removed = 0;
    do {
      const [next, ids] = await redis.sscan(setKey, cursor, "COUNT", 200);
      cursor = next;
      if (ids.length === 0) continue;
      const keys = [setKey, ...ids.flatMap((id) => [jobKey(id), pendingKey(prefix, id)])];
      removed += Number(await redis.eval(SWEEP, keys.length, ...keys, String(ids.length), ...ids, ...FINAL_STATUSES));
    } while (cursor !== "0");
    return removed;
  }

  async #tryAcquire(principalId: string, jobId: string, limit: number): Promise<[boolean, number]> {
    const { redis, prefix, pendingSeconds, retentionSeconds } = this.#deps;
    const reply = await redis.eval(
      ACQUIRE,
      2,
      this.key(principalId),
      pendingKey(prefix, jobId),
      jobId,
      String(limit),
      String(pendingSeconds),
      String(Math.max(retentionSeconds, pendingSeconds)),
    );
    const [ok, inFlight] = acquireReplySchema.parse(reply);
    return [ok === 1, inFlight];
  }

  /** One sweep per principal per interval, across all API processes. */
  async #sweepDue(principalId: string): Promise<boolean> {
    const marker = `${this.#deps.prefix}:inflight-swept:${principalId}`;
    return (await this.#deps.redis.set(marker, "1", "EX", this.#deps.sweepIntervalSeconds, "NX")) === "OK";
  }
}
