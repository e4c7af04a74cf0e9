import type { Redis } from "ioredis";
import { z } from "zod";
import type { RedisKeys } from "../redis/keys.ts";
import { assertPipelineSucceeded } from "../redis/pipeline.ts";
import {
  jobErrorSchema,
  jobResultMetaSchema,
  jobSpecSchema,
  jobStatusSchema,
  type JobError,
  type JobOutput,
  type JobRecord,
  type JobResultMeta,
  type JobSpec,
  type JobStatus,
} from "./job-model.ts";

const RECORD_FIELDS = ["spec", "status", "startedAt", "finishedAt", "result", "error", "sentAt", "attempts", "cancelRequestedAt"] as const;

// Status transitions are Lua scripts so that two processes (an API cancelling, a worker finishing) can never both
// win: whichever runs first decides, the other sees a final status and backs off.
//
// A job that belongs to a batch names the batch hash in its field `counters`; every transition moves one count
// there (c:<status>) in the same script, so batch counts are exact and reading them costs one HGETALL. A batch job
// that was dispatched also holds one of the batch's in-flight slots until it ends. (The counter key is read from the
// job hash rather than passed in KEYS: fine on a single Redis, which is what this service targets.)
const COUNTERS = `
local function count(jobKey, from, to)
  local c = redis.call('HGET', jobKey, 'counters')
  if not c then return end
  if from then redis.call('HINCRBY', c, 'c:' .. from, -1) end
  if to then redis.call('HINCRBY', c, 'c:' .. to, 1) end
end
local function ended(jobKey)
  local c = redis.call('HGET', jobKey, 'counters')
  if c and redis.call('HGET', jobKey, 'dispatched') == '1' then
    redis.call('HINCRBY', c, 'inflight', -1)
    redis.call('HDEL', jobKey, 'dispatched')
  end
  local a = redis.call('HGET', jobKey, 'activeSet')
  if a then redis.call('SREM', a, redis.call('HGET', jobKey, 'id') or jobKey) end
end
`;

const CLAIM = `${COUNTERS}
local s = redis.call('HGET', KEYS[1], 'status')
if not s then return 'missing' end
if s == 'queued' then
  count(KEYS[1], 'queued', 'running')
  redis.call('HSET', KEYS[1], 'status', 'running', 'startedAt', ARGV[1], 'worker', ARGV[2])
  redis.call('HINCRBY', KEYS[1], 'attempts', 1)
  return 'claimed'
end
if s == 'running' then
  if redis.call('HEXISTS', KEYS[1], 'sentAt') == 1 then return 'lost' end
  if redis.call('HEXISTS', KEYS[1], 'cancelRequestedAt') == 1 then return 'cancel-requested' end
  redis.call('HSET', KEYS[1], 'worker', ARGV[2])
  return 'claimed'
end
return 'final'`;

const MARK_SENT = `
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 0 end
if redis.call('HEXISTS', KEYS[1], 'cancelRequestedAt') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'sentAt', ARGV[1])
return 1`;

const FINISH = `${COUNTERS}
local s = redis.call('HGET', KEYS[1], 'status')
if not s or (s ~= 'queued' and s ~= 'running') then return 0 end
count(KEYS[1], s, ARGV[1])
ended(KEYS[1])
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'finishedAt', ARGV[2], 'result', ARGV[3], 'error', ARGV[4],
  'stdout', ARGV[5], 'stderr', ARGV[6])
redis.call('HDEL', KEYS[1], 'secrets')
redis.call('EXPIRE', KEYS[1], ARGV[7])
redis.call('PUBLISH', ARGV[8], ARGV[9])
return 1`;

const CANCEL_QUEUED = `${COUNTERS}
local s = redis.call('HGET', KEYS[1], 'status')
if not s then return 'missing' end
if s == 'queued' then
  count(KEYS[1], 'queued', 'canceled')
  ended(KEYS[1])
  redis.call('HSET', KEYS[1], 'status', 'canceled', 'finishedAt', ARGV[1], 'error', ARGV[2])
  redis.call('HDEL', KEYS[1], 'secrets')
  redis.call('PUBLISH', ARGV[3], ARGV[4])
  return 'canceled'
end
if s == 'running' then
  redis.call('HSET', KEYS[1], 'cancelRequestedAt', ARGV[1])
  redis.call('PUBLISH', ARGV[5], ARGV[4])
  return 'cancel-requested'
end
return s`;

const REQUEUE = `${COUNTERS}
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 0 end
count(KEYS[1], 'running', 'queued')
redis.call('HSET', KEYS[1], 'status', 'queued')
redis.call('HDEL', KEYS[1], 'sentAt', 'startedAt', 'worker')
return 1`;

export type ClaimResult = "claimed" | "lost" | "final" | "missing" | "cancel-requested";

export interface FinishInput {
  status: Exclude<JobStatus, "queued" | "running">;
  result: JobResultMeta | null;
  error: JobError | null;
  output: JobOutput;
  finishedAt?: Date;
}

export interface ListJobsQuery {
  wallet: string;
  status?: JobStatus | undefined;
  dseq?: string | undefined;
  batchId?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

const cursorSchema = z.object({ s: z.number(), id: z.string() });

export class InvalidCursorError extends Error {
  constructor() {
    super("cursor is not one this API returned");
    this.name = "InvalidCursorError";
  }
}

/**
 * Job records in Redis: one hash per job (record, state and stored output, so one EXPIRE covers all of it) and a
 * per-wallet index for listings. Output lives here rather than in BullMQ's return values, which travel through the
 * event stream to every listener and would carry megabytes each.
 */
export class JobStore {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;
  readonly #retentionSeconds: number;

  constructor(deps: { redis: Redis; keys: RedisKeys; retentionSeconds: number }) {
    this.#redis = deps.redis;
    this.#keys = deps.keys;
    this.#retentionSeconds = deps.retentionSeconds;
  }

  get retentionSeconds(): number {
    return this.#retentionSeconds;
  }

  async create(spec: JobSpec, options: { sealedSecrets?: string | null; activeSet?: string } = {}): Promise<void> {
    const key = this.#keys.job(spec.id);
    const index = this.#keys.walletJobs(spec.wallet);
    const createdMs = Date.parse(spec.createdAt);
    const fields = jobHashFields(spec, options);
    await this.#redis
      .multi()
      .hset(key, fields)
      .expire(key, this.#retentionSeconds)
      .zadd(index, createdMs, spec.id)
      .zremrangebyscore(index, "-inf", createdMs - this.#retentionSeconds * 1000)
      .expire(index, this.#retentionSeconds)
      .exec()
      .then(assertPipelineSucceeded);
  }

  /** Removes a job whose enqueue failed, so a refused submit leaves nothing behind. */
  async discard(spec: JobSpec): Promise<void> {
    await this.#redis.multi().del(this.#keys.job(spec.id)).zrem(this.#keys.walletJobs(spec.wallet), spec.id).exec();
  }

  async get(id: string): Promise<JobRecord | null> {
    const values = await this.#redis.hmget(this.#keys.job(id), ...RECORD_FIELDS);
    return parseRecord(values);
  }

  async getMany(ids: readonly string[]): Promise<(JobRecord | null)[]> {
    if (ids.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const id of ids) pipeline.hmget(this.#keys.job(id), ...RECORD_FIELDS);
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([error, values]) => (error ? null : parseRecord(values as (string | null)[])));
  }

  async getOutput(id: string): Promise<JobOutput> {
    const [stdout, stderr] = await this.#redis.hmgetBuffer(this.#keys.job(id), "stdout", "stderr");
    return { stdout: stdout ?? Buffer.alloc(0), stderr: stderr ?? Buffer.alloc(0) };
  }

  async claim(id: string, workerId: string, now = new Date()): Promise<ClaimResult> {
    const result = await this.#redis.eval(CLAIM, 1, this.#keys.job(id), now.toISOString(), workerId);
    return z.enum(["claimed", "lost", "final", "missing", "cancel-requested"]).parse(result);
  }

  /** The at-most-once marker. False when the job is no longer running (canceled meanwhile): do not send. */
  async markSent(id: string, now = new Date()): Promise<boolean> {
    return (await this.#redis.eval(MARK_SENT, 1, this.#keys.job(id), now.toISOString())) === 1;
  }

  /** Writes the outcome and wakes waiters. False when the job had already ended (e.g. canceled first). */
  async finish(id: string, input: FinishInput): Promise<boolean> {
    const written = await this.#redis.eval(
      FINISH,
      1,
      this.#keys.job(id),
      input.status,
      (input.finishedAt ?? new Date()).toISOString(),
      JSON.stringify(input.result),
      JSON.stringify(input.error),
      input.output.stdout,
      input.output.stderr,
      String(this.#retentionSeconds),
      this.#keys.jobFinishedChannel,
      id,
    );
    return written === 1;
  }

  /**
   * Cancels a job: a queued one ends `canceled` at once and never runs; for a running one the request is recorded
   * (so it is never sent if it was not yet) and published to the workers, one of which holds it. Returns the final
   * status it already had otherwise.
   */
  async requestCancel(id: string, error: JobError, now = new Date()): Promise<"canceled" | "cancel-requested" | "missing" | JobStatus> {
    const result = await this.#redis.eval(
      CANCEL_QUEUED,
      1,
      this.#keys.job(id),
      now.toISOString(),
      JSON.stringify(error),
      this.#keys.jobFinishedChannel,
      id,
      this.#keys.cancelChannel,
    );
    return z.union([z.literal("canceled"), z.literal("cancel-requested"), z.literal("missing"), jobStatusSchema]).parse(result);
  }

  /**
   * Binds an idempotency key to a job id for the retention window. Returns null when this call made the binding,
   * otherwise what the key is already bound to.
   */
  async reserveIdempotencyKey(
    principalId: string,
    key: string,
    binding: { jobId: string; fingerprint: string },
  ): Promise<{ jobId: string; fingerprint: string } | null> {
    const redisKey = this.#keys.idempotency(principalId, key);
    const value = JSON.stringify(binding);
    const set = await this.#redis.set(redisKey, value, "EX", this.#retentionSeconds, "NX");
    if (set === "OK") return null;
    const existing = await this.#redis.get(redisKey);
    if (!existing) return this.reserveIdempotencyKey(principalId, key, binding);
    return z.object({ jobId: z.string(), fingerprint: z.string() }).parse(JSON.parse(existing));
  }

  async releaseIdempotencyKey(principalId: string, key: string): Promise<void> {
    await this.#redis.del(this.#keys.idempotency(principalId, key));
  }

  /** The sealed secret-grade inputs, or null when there are none (or they were already erased). */
  async getSealedSecrets(id: string): Promise<string | null> {
    return this.#redis.hget(this.#keys.job(id), "secrets");
  }

  /** Erases the secret-grade inputs once they were delivered (finish and cancel erase them too). */
  async eraseSecrets(id: string): Promise<void> {
    await this.#redis.hdel(this.#keys.job(id), "secrets");
  }

  /** Back to `queued` for a retry; only valid when the command was certainly not sent. */
  async requeueForRetry(id: string): Promise<boolean> {
    return (await this.#redis.eval(REQUEUE, 1, this.#keys.job(id))) === 1;
  }

  /** Newest first. Entries whose job has expired are skipped (and the index is trimmed at each create). */
  async list(query: ListJobsQuery): Promise<{ jobs: JobRecord[]; nextCursor: string | null }> {
    const index = this.#keys.walletJobs(query.wallet);
    let max = "+inf";
    let afterId: string | null = null;
    if (query.cursor) {
      const decoded = decodeCursor(query.cursor);
      max = String(decoded.s);
      afterId = decoded.id;
    }
    const jobs: JobRecord[] = [];
    const pageSize = Math.max(query.limit * 2, 50);
    let scanned = 0;
    let lastScore: number | null = null;
    let lastId: string | null = null;
    // Filters are applied after reading, so a sparse filter scans more of the index: bounded, then a cursor is
    // returned to continue from where the scan stopped.
    while (jobs.length < query.limit && scanned < 5_000) {
      const entries = await this.#redis.zrevrangebyscore(index, max, "-inf", "WITHSCORES", "LIMIT", 0, pageSize);
      if (entries.length === 0) return { jobs, nextCursor: null };
      const page: { id: string; score: number }[] = [];
      for (let i = 0; i < entries.length; i += 2) page.push({ id: entries[i]!, score: Number(entries[i + 1]) });
      // Entries sharing the cursor's score that were already returned (ids sort descending within a score).
      const cursorScore = Number(max.replace("(", ""));
      const fresh = afterId === null ? page : page.filter((e) => e.score < cursorScore || e.id < afterId!);
      const records = await this.getMany(fresh.map((e) => e.id));
      for (let i = 0; i < fresh.length; i++) {
        const record = records[i];
        const entry = fresh[i]!;
        scanned++;
        lastScore = entry.score;
        lastId = entry.id;
        if (record && matches(record, query)) jobs.push(record);
        if (jobs.length === query.limit) break;
      }
      if (jobs.length === query.limit) break;
      if (entries.length < pageSize * 2) return { jobs, nextCursor: null };
      const tail = page[page.length - 1]!;
      if (fresh.length === 0) {
        // A whole page of one millisecond already returned: step past that score rather than loop on it.
        max = `(${tail.score}`;
        afterId = null;
      } else {
        max = String(tail.score);
        afterId = tail.id;
      }
    }
    return { jobs, nextCursor: lastScore === null || lastId === null ? null : encodeCursor(lastScore, lastId) };
  }
}

/** The hash fields of a new job; batches write many of them in one pipeline. */
export function jobHashFields(
  spec: JobSpec,
  options: { sealedSecrets?: string | null; activeSet?: string; counters?: string },
): Record<string, string> {
  const fields: Record<string, string> = { id: spec.id, spec: JSON.stringify(spec), status: "queued", attempts: "0" };
  if (options.sealedSecrets) fields.secrets = options.sealedSecrets;
  if (options.activeSet) fields.activeSet = options.activeSet;
  if (options.counters) fields.counters = options.counters;
  return fields;
}

function matches(record: JobRecord, query: ListJobsQuery): boolean {
  if (query.status && record.status !== query.status) return false;
  if (query.dseq && record.target.dseq !== query.dseq) return false;
  if (query.batchId && record.batchId !== query.batchId) return false;
  return true;
}

function encodeCursor(score: number, id: string): string {
  return Buffer.from(JSON.stringify({ s: score, id })).toString("base64url");
}

function decodeCursor(cursor: string): { s: number; id: string } {
  try {
    return cursorSchema.parse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
  } catch {
    throw new InvalidCursorError();
  }
}

function parseRecord(values: (string | null)[]): JobRecord | null {
  const [spec, status, startedAt, finishedAt, result, error, sentAt, attempts, cancelRequestedAt] = values;
  if (!spec || !status) return null;
  return {
    ...jobSpecSchema.parse(JSON.parse(spec)),
    status: jobStatusSchema.parse(status),
    startedAt: startedAt ?? null,
    finishedAt: finishedAt ?? null,
    result: result ? jobResultMetaSchema.nullable().parse(JSON.parse(result)) : null,
    error: error ? jobErrorSchema.nullable().parse(JSON.parse(error)) : null,
    sentAt: sentAt ?? null,
    attempts: Number(attempts ?? 0),
    cancelRequestedAt: cancelRequestedAt ?? null,
  };
}

