import type { Redis } from "ioredis";
import { z } from "zod";
import { RateLimitedError } from "./rate-limited-error.ts";

export interface SubmitRate {
  /** Sustained rate. 0 turns the limit off. */
  ratePerMinute: number;
  /** How many submits may come at once after a quiet spell. */
  burst: number;
}

/**
 * GCRA (the generic cell rate algorithm, a token bucket kept as one timestamp): the key holds the "theoretical
 * arrival time" (TAT) in microseconds of the Redis clock. A submit is allowed when now >= TAT + interval - burst ×
 * interval; then TAT moves one interval on. Check and update are one script, so concurrent API processes can never
 * both take the last slot, and the clock is Redis's own, so API hosts' clocks do not matter. One round trip per check.
 *
 * Numbers are formatted with %d: Redis's Lua turns plain numbers into strings with 14 significant digits, which
 * would round a microsecond timestamp.
 */
const GCRA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local nextTat = tat + interval
local allowAt = nextTat - tolerance
if now < allowAt then
  return {0, string.format('%d', allowAt - now), 0}
end
redis.call('SET', KEYS[1], string.format('%d', nextTat), 'PX', string.format('%d', math.ceil((nextTat - now) / 1000)))
return {1, '0', math.floor((now - allowAt) / interval)}`;

const gcraReplySchema = z.tuple([z.number(), z.string(), z.number()]);

export type RateCheck = { allowed: true; remaining: number } | { allowed: false; retryAfterMs: number };

/** Per-principal submit rate limit in Redis. */
export class SubmitRateLimiter {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #rateFor: (principalId: string) => SubmitRate;

  constructor(deps: { redis: Redis; prefix: string; rate: SubmitRate; overrides?: Readonly<Record<string, SubmitRate>> }) {
    this.#redis = deps.redis;
    this.#prefix = deps.prefix;
    const overrides = new Map(Object.entries(deps.overrides ?? {}));
    this.#rateFor = (principalId) => overrides.get(principalId) ?? deps.rate;
  }

  key(principalId: string): string {
    return `${this.#prefix}:ratelimit:submit:${principalId}`;
  }

  /** Takes one submit from the principal's allowance if there is one; a refused check takes nothing. */
  async take(principalId: string): Promise<RateCheck> {
    const rate = this.#rateFor(principalId);
    if (rate.ratePerMinute <= 0) return { allowed: true, remaining: Number.POSITIVE_INFINITY };
    const intervalUs = Math.max(1, Math.round(60_000_000 / rate.ratePerMinute));
    const toleranceUs = intervalUs * Math.max(1, rate.burst);
    const reply = await this.#redis.eval(GCRA, 1, this.key(principalId), String(intervalUs), String(toleranceUs));
    const [allowed, retryAfterUs, remaining] = gcraReplySchema.parse(reply);
    if (allowed === 1) return { allowed: true, remaining };
    return { allowed: false, retryAfterMs: Math.ceil(Number(retryAfterUs) / 1000) };
  }

  /** take(), throwing RateLimitedError (429, Retry-After) when refused. */
  async check(principalId: string): Promise<{ remaining: number }> {
    const result = await this.take(principalId);
    if (result.allowed) return { remaining: result.remaining };
    const rate = this.#rateFor(principalId);
    throw new RateLimitedError({ limit: "submit-rate", retryAfterMs: result.retryAfterMs, ratePerMinute: rate.ratePerMinute, burst: Math.max(1, rate.burst) });
  }
}
